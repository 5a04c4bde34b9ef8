(function () {
  const D = JSON.parse($('explorer-data').textContent);
  const S = D.summary, R = D.runs;
  $('title').textContent = `MLRC explorer: ${D.model} vs MLRC on ${D.dataset} (${D.workdir})`;
  $('subtitle').textContent = `${D.score} (x100) by share of the training data: `
      + `${R.length} run${R.length === 1 ? '' : 's'} over ${S.length} `
      + `fraction${S.length === 1 ? '' : 's'}. Points: mean over runs; bars: min to max; `
      + 'small dots: single runs (crosses: collapsed, one label predicted). '
      + 'Hover for per-run values.';
  const pc = (f) => `${+(100 * f).toPrecision(4)} %`;
  const series = [];
  const curves = [['baseline', D.model, '#1f77b4', 1 / 1.04],  // Side by side on the log axis.
                  ['mlrc', `MLRC (${D.model})`, '#ff7f0e', 1.04]];
  for (const [key, label, color, shift] of curves) {
    series.push({name: `${label}: mean, min\u2013max`, color, line: true,
      points: S.map((s) => ({x: 100 * s.fraction * shift, y: s[key], lo: s[key + '_min'],
        hi: s[key + '_max'],
        tip: `${label} at ${pc(s.fraction)} (${Math.round(s.n_train)} train): mean `
          + num(s[key], 2) + (s[key + '_std'] === null ? ' (n=1)'
              : ` \u00b1 ${num(s[key + '_std'], 2)} (n=${s.runs})`)
          + '\nruns: ' + R.filter((r) => r.fraction === s.fraction)
              .map((r) => num(r[key], 2)).join(', ')}))});
    series.push({name: `${label}: single runs`, color, line: false,
      points: R.map((r) => ({x: 100 * r.fraction * shift, y: r[key], bad: r[key + '_collapsed'],
        tip: `${label}, fraction ${pc(r.fraction)}, run ${r.run} (seed ${r.seed}, `
          + `${r.n_train} train): ${num(r[key], 2)}` + (r[key + '_collapsed'] ? ' collapsed' : '')
          + `\nbaseline ${num(r.baseline, 2)}, MLRC ${num(r.mlrc, 2)}, `
          + `MLRC \u2212 baseline ${num(r.mlrc - r.baseline, 2)}`}))});
  }
  if (D.paper_1pct && S.some((s) => s.fraction === 0.01)) {
    series.push({name: `paper at 1 %: ${D.paper_1pct.join(' \u2192 ')}`, color: '#2ca02c',
      line: false, hollow: true, points: D.paper_1pct.map((v, k) => ({x: k ? 1.04 : 1 / 1.04,
        y: v, tip: `paper at 1 %, ${k ? 'MLRC' : D.model}: ${v}`}))});
  }
  const ticks = S.map((s) => ({x: 100 * s.fraction,
                               label: `${pc(s.fraction)} (${Math.round(s.n_train)})`}));
  if (!S.length) $('subtitle').textContent = 'No finished runs yet.';
  $('rel-title').textContent = D.smallest === null ? 'Per relation: no runs yet'
      : `Per relation at fraction ${pc(D.smallest)} (the paper's Table 1), fewest examples first`;
  const f2 = (k) => ({label: k, value: (r) => r[k], html: (r) => num(r[k], 2), num: true});
  const delta = {label: 'MLRC \u2212 baseline', value: (r) => r.mlrc - r.baseline, num: true,
                 html: (r) => num(r.mlrc - r.baseline, 2)};
  new Table($('relations'), [
    {label: 'relation', value: (r) => r.relation, html: (r) => esc(r.relation)},
    {label: '# (mean)', value: (r) => r.count, html: (r) => num(r.count, 1), num: true},
    Object.assign(f2('baseline'), {label: 'baseline F1'}),
    Object.assign(f2('mlrc'), {label: 'MLRC F1'}), delta],
    {sort: 1, dir: 1, pageSize: 100, placeholder: 'search relations',
     text: (r) => esc(r.relation.toLowerCase())}).setItems(D.relations);
  const loss = (m) => (m && m.first !== undefined ? `${num(m.first, 4)} \u2192 ${num(m.last, 4)}`
                                                  : '\u2014');
  const scored = (k) => ({label: k === 'mlrc' ? 'MLRC' : k, value: (r) => r[k], num: true,
                          html: (r) => num(r[k], 2) + (r[k + '_collapsed'] ? ' collapsed' : '')});
  new Table($('runs'), [
    {label: 'fraction', value: (r) => r.fraction, html: (r) => pc(r.fraction), num: true},
    {label: 'run', value: (r) => r.run, html: (r) => esc(r.run), num: true},
    {label: 'seed', value: (r) => r.seed, html: (r) => esc(r.seed), num: true},
    {label: 'train', value: (r) => r.n_train, html: (r) => esc(r.n_train), num: true},
    scored('baseline'), scored('mlrc'), delta,
    {label: 'meta loss first \u2192 last', value: (r) => (r.meta_loss ? r.meta_loss.last : null),
     html: (r) => loss(r.meta_loss)}],
    {sort: 0, dir: 1, pageSize: 100, placeholder: 'search fraction, run, seed',
     text: (r) => `${r.fraction} ${r.run} ${r.seed}`}).setItems(R);
  try {
    curveChart($('curve'), series, ticks, D.score);
    window.explorer = {series: () => series};
    markReady();
  } catch (e) { showError(e); }
})();
