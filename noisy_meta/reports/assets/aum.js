(function () {
  const D = JSON.parse($('explorer-data').textContent);
  const C = D.cols, N = D.n, L = D.levels, names = D.label_names;
  const FLAG = '#d62728', KEPT = '#7f8fa6', NOISE = '#e07b00';
  const lname = (c) => (c === null || c === undefined || c < 0) ? '\u2014'
      : esc(c < names.length ? names[c] : c);
  const idOf = (i) => (C.id ? C.id[i] : i);
  const hasNoise = C.noisy !== null;
  const isNoisy = (i) => hasNoise && C.noisy.charCodeAt(i) === 49;
  const bit = (s, i) => s.charCodeAt(i) === 49;
  let level = D.default_level, selected = -1, colorBy = 'flag', scope = 'flagged', subset = null;
  let started = false;
  const flagged = (i) => C.first[i] <= level;

  $('title').textContent = (D.synthetic ? 'SYNTHETIC DATA \u2014 ' : '') + 'AUM explorer: '
      + D.task + ' (' + D.workdir + ')';
  $('subtitle').innerHTML = `${N} training examples; `
      + (hasNoise ? `injected noise rate ${esc(D.noise_rate)} `
                    + `(${C.noisy.split('1').length - 1} labels flipped)`
                  : 'no injected noise known')
      + `; threshold samples per run ${D.threshold_counts.join(', ')}; labels: `
      + names.map(esc).join(', ') + '.'
      + (D.levels_note ? ` <span class="warn">Percentiles: ${esc(D.levels_note)}.</span>` : '');

  // Percentile control: an index into D.levels (every integer 0-100 when the runs'
  // dynamics are there, else the run's own percentiles).
  const pct = $('pct');
  pct.min = 0; pct.max = L.length - 1; pct.step = 1; pct.value = level;
  $('pct-ticks').innerHTML = D.percentiles.map((p) => `<option value="${L.indexOf(p)}">`).join('');

  // Colour modes.
  const modes = [['flag', 'flagged at the percentile'], ['aum', 'AUM']];
  if (hasNoise) modes.push(['noise', 'injected noise']);
  for (const d of Object.keys(D.det)) {
    modes.push(['det:' + d, `detector ${d}'s flag` + (d === D.chosen_detector ? ' (cleans)' : '')]);
  }
  $('color-by').innerHTML = modes.map(([v, t]) => `<option value="${esc(v)}">${esc(t)}</option>`)
      .join('');

  // The plotted examples: all (or the build's sample), every k-th without WebGL.
  const gl = (() => {
    try {
      const c = document.createElement('canvas');
      return !!(c.getContext('webgl2') || c.getContext('webgl'));
    }
    catch (e) { return false; }
  })();
  let P = D.plot_idx || Array.from({length: N}, (_, i) => i);
  const notes = [];
  if (D.plot_idx) {
    notes.push(`The plot shows a uniform sample of ${P.length} of the ${N} examples; `
               + 'the table has all.');
  }
  if (!gl && P.length > D.svg_max) {
    const step = Math.ceil(P.length / D.svg_max);
    P = P.filter((_, k) => k % step === 0);
    notes.push(`No WebGL in this browser: the plot shows one example in ${step} `
               + `(${P.length}); the table has all.`);
  }
  $('plot-note').textContent = notes.join(' ');
  // One trace per marker shape (injected noise: larger crosses): per-point symbol
  // and size arrays cost scattergl seconds at 67k points. G[t]: trace t's examples.
  const G = hasNoise ? [P.filter((i) => !isNoisy(i)), P.filter(isNoisy)] : [P];
  const SEL = G.length;  // The trace that rings the selected example.
  const at = (ev) => {  // The example under a plotly event point, or undefined.
    const p = ev.points.find((q) => q.curveNumber < SEL);
    return p && G[p.curveNumber][p.pointIndex];
  };

  function colors(g) {  // Marker colour settings of the examples `g`.
    if (colorBy === 'aum') {
      const mag = Float64Array.from(P, (i) => Math.abs(C.aum[i])).sort();
      // The colour range: the 98th percentile of |AUM|.
      const lim = Math.max(mag[Math.floor(0.98 * (mag.length - 1))] || 0, 1e-6);
      return {color: g.map((i) => C.aum[i]), cmin: -lim, cmax: lim,  // Red: low AUM, suspect.
              colorscale: [[0, '#b2182b'], [0.5, '#e8e8e8'], [1, '#2166ac']],
              showscale: g === G[0], colorbar: {title: {text: 'AUM'}, thickness: 12}};
    }
    let on;
    if (colorBy === 'flag') on = (i) => flagged(i);
    else if (colorBy === 'noise') on = isNoisy;
    else { const s = D.det[colorBy.slice(4)]; on = (i) => bit(s, i); }
    const hi = colorBy === 'noise' ? NOISE : FLAG;
    return {color: g.map((i) => (on(i) ? 1 : 0)), colorscale: [[0, KEPT], [1, hi]], cmin: 0,
            cmax: 1, showscale: false, colorbar: {}};
  }
  function legend() {
    const [off, on] = {flag: ['kept', `flagged (AUM below the p${L[level]} threshold)`],
                       noise: ['label left as it was', 'injected noise']}[colorBy]
        || ['not flagged', `flagged by detector ${esc(colorBy.slice(4))}`];
    const hi = colorBy === 'noise' ? NOISE : FLAG;
    $('legend').innerHTML = (colorBy === 'aum' ? 'Colour: AUM (red low, blue high).'
        : `<span class="dot" style="background:${KEPT}"></span>${off}`
          + `<span class="dot" style="background:${hi}"></span>${on}.`)
        + (hasNoise ? ' Crosses (larger): injected noise; circles: labels left as they were.' : '');
  }
  function recolor() {
    const cs = G.map(colors), key = (k) => cs.map((c) => c[k]);
    Plotly.restyle(map, {'marker.color': key('color'), 'marker.colorscale': key('colorscale'),
      'marker.cmin': key('cmin'), 'marker.cmax': key('cmax'), 'marker.showscale': key('showscale'),
      'marker.colorbar': key('colorbar')}, G.map((_, t) => t));
    legend();
  }

  const map = $('map');
  const type = gl ? 'scattergl' : 'scatter';
  const mapTraces = G.map((g, t) => ({
    type, mode: 'markers', hoverinfo: 'none', name: t ? 'injected noise' : 'examples',
    x: g.map((i) => C.variability[i]), y: g.map((i) => C.confidence[i]),
    marker: Object.assign({opacity: 0.75, symbol: t ? 'x' : 'circle', size: t ? 8 : 5},
                          colors(g))}));
  mapTraces.push({type, mode: 'markers', name: 'selected', x: [], y: [], hoverinfo: 'skip',
    marker: {symbol: 'circle-open', size: 18, color: '#000', line: {width: 2}}});
  const mapLayout = {margin: {l: 55, r: 10, t: 34, b: 45}, hovermode: 'closest', showlegend: false,
    title: {text: 'Data map: variability \u00d7 confidence', font: {size: 14}, x: 0.02,
            xanchor: 'left'},
    xaxis: {title: {text: 'variability'}, zeroline: false},
    yaxis: {title: {text: 'confidence'}, zeroline: false}, dragmode: 'zoom'};

  // Histograms: threshold samples vs the rest, with the thresholds at the percentile.
  const hist = $('hist');
  const rest = [], restNoisy = [], thrJudged = [];
  for (let i = 0; i < N; i++) {
    if (C.thr.charCodeAt(i) !== 48) thrJudged.push(C.aum[i]);
    else if (isNoisy(i)) restNoisy.push(C.aum[i]);
    else rest.push(C.aum[i]);
  }
  const thrAum = D.fake_aum || thrJudged;
  let lo = Infinity, hi = -Infinity;  // No spread: 67k arguments overflow the stack.
  for (const x of [thrAum, rest, restNoisy].flat()) { if (x < lo) lo = x; if (x > hi) hi = x; }
  const bins = {start: lo, end: hi + 1e-9, size: (hi - lo) / 60 || 1};
  const h = (x, name, color) => ({type: 'histogram', x, name: `${name} (n=${x.length})`,
    xbins: bins, opacity: 0.55, marker: {color}});
  const thrName = D.fake_aum ? 'threshold samples: AUM as the fake class'
                             : 'threshold samples: AUM in their judging run';
  const histTraces = [h(thrAum, thrName, '#9467bd'),
                      h(rest, hasNoise ? 'other examples, clean' : 'other examples', '#1f77b4')];
  if (hasNoise) histTraces.push(h(restNoisy, 'other examples, injected noise', NOISE));
  function thresholdShapes() {
    const t = D.thresholds[level];
    if (!t) return [];
    return t.map((x, r) => ({type: 'line', x0: x, x1: x, y0: 0, y1: 1, yref: 'paper',
      line: {color: '#000', width: 1.5, dash: r ? 'dash' : 'solid'}}));
  }
  function histTitle() {
    const t = D.thresholds[level];
    return `AUM (judging run); lines: p${L[level]} thresholds`
        + (t ? ` (run 1 ${num(t[0], 3)}, run 2 ${num(t[1], 3)})`
             : ' (not recorded at this percentile)');
  }
  const histLayout = {barmode: 'overlay', margin: {l: 55, r: 10, t: 34, b: 45},
    title: {text: histTitle(), font: {size: 13}, x: 0.02, xanchor: 'left'},
    xaxis: {title: {text: 'AUM'}},
    yaxis: {title: {text: 'examples'}}, legend: {orientation: 'h', y: -0.25},
    shapes: thresholdShapes()};

  // Details panel and hover tip.
  function detailsHtml(i) {
    const f = flagged(i), tr = C.thr.charCodeAt(i) - 48;
    const rows = [['given label', lname(C.label[i])]];
    if (C.orig) rows.push(['original label', lname(C.orig[i])
        + (isNoisy(i) ? ' <span class="badge b-noise">injected noise</span>' : '')]);
    rows.push(['suggested label', C.suggest ? lname(C.suggest[i]) + ' (if flipped)' : '\u2014'],
      ['AUM', num(C.aum[i], 4) + ` (judged in run ${C.judged[i]})`],
      ['confidence', num(C.confidence[i], 4)], ['variability', num(C.variability[i], 4)],
      ['correctness', num(C.correctness[i], 3)],
      [`flagged at p${L[level]}`, f ? 'yes' : 'no'],
      ['first flagged at', C.first[i] < L.length ? 'p' + L[C.first[i]] : 'never']);
    if (tr) rows.push(['threshold sample', `in run ${tr} (fake class there)`]);
    if (C.nb_agrees) rows.push(['neighbours', `majority share ${num(C.nb_share[i], 2)}; label `
        + (bit(C.nb_agrees, i) ? 'agrees' : 'disagrees') + ' with their majority']);
    const dets = Object.keys(D.det).filter((d) => bit(D.det[d], i));
    if (Object.keys(D.det).length) {
      rows.push(['detectors flagging it', dets.length ? esc(dets.join(', ')) : 'none']);
    }
    rows.push(['source', esc(D.cols.source_prefix + C.source[i])]);
    return `<h3>Example #${esc(idOf(i))}<span class="badge ${f ? 'b-flag' : 'b-kept'}">`
        + `${f ? 'flagged' : 'kept'}</span></h3><div class="text">${C.html[i]}</div>`
        + (D.relation ? '<p class="legend"><span class="ent ent-s">subject</span> '
                        + '<span class="ent ent-o">object</span></p>' : '') + '<table>'
        + rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${v}</td></tr>`).join('') + '</table>';
  }
  function select(i) {
    selected = i;
    $('details').innerHTML = detailsHtml(i);
    const shown = G.some((g) => g.includes(i));
    Plotly.restyle(map, {x: [shown ? [C.variability[i]] : []],
                         y: [shown ? [C.confidence[i]] : []]}, [SEL]);
  }
  const tip = $('tip');
  function showTip(i, ev) {
    tip.innerHTML = `<b>#${esc(idOf(i))}</b> given ${lname(C.label[i])}`
        + (C.orig ? `, original ${lname(C.orig[i])}` : '') + `, AUM ${num(C.aum[i], 3)}`
        + (flagged(i) ? ' <span class="badge b-flag">flagged</span>' : '')
        + `<div>${C.html[i]}</div>`;
    tip.style.display = 'block';
    const x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    const y = Math.min(ev.clientY + 14, window.innerHeight - tip.offsetHeight - 8);
    tip.style.left = x + 'px'; tip.style.top = y + 'px';
  }

  // Table of flagged (or all) examples, linked to the plot.
  let search = null;
  const stripTags = (s) => s.replace(/<[^>]*>/g, '');
  const cols = [
    {label: 'id', value: (i) => idOf(i), html: (i) => esc(idOf(i)), num: true},
    {label: 'text', value: (i) => C.html[i], html: (i) => C.html[i]},
    {label: 'given', value: (i) => C.label[i], html: (i) => lname(C.label[i])}];
  const labelCol = (label, a) => ({label, value: (i) => a[i], html: (i) => lname(a[i])});
  if (C.orig) cols.push(labelCol('original', C.orig));
  if (C.suggest) cols.push(labelCol('suggested', C.suggest));
  cols.push({label: 'AUM', value: (i) => C.aum[i], html: (i) => num(C.aum[i], 3), num: true},
    {label: 'confidence', value: (i) => C.confidence[i], html: (i) => num(C.confidence[i], 3),
     num: true, dir: -1},
    {label: 'variability', value: (i) => C.variability[i], html: (i) => num(C.variability[i], 3),
     num: true, dir: -1});
  if (hasNoise) cols.push({label: 'noise', value: (i) => (isNoisy(i) ? 1 : 0), dir: -1,
    html: (i) => (isNoisy(i) ? '<span class="badge b-noise">injected</span>' : '')});
  const aumCol = cols.findIndex((c) => c.label === 'AUM');
  const scopeSel = document.createElement('select');
  scopeSel.innerHTML = '<option value="flagged">flagged examples</option>'
      + '<option value="all">all examples</option>';
  const table = new Table($('table'), cols, {
    sort: aumCol, dir: 1, pageSize: 50, selected: () => selected, onRow: select,
    placeholder: 'search text, label, #id',
    text: (i) => {
      if (!search) {  // Built on the first search: lowercase, escaped like the query.
        search = Array.from({length: N}, (_, j) => ('#' + idOf(j) + ' ' + lname(C.label[j]) + ' '
            + (C.orig ? lname(C.orig[j]) : '') + ' ' + stripTags(C.html[j])).toLowerCase());
      }
      return search[i];
    }});
  const bar = $('table').querySelector('.tbar');
  const subsetInfo = document.createElement('span');
  bar.prepend(scopeSel);
  bar.append(subsetInfo);
  scopeSel.addEventListener('change', () => { scope = scopeSel.value; refreshTable(); });
  function refreshTable() {
    const items = [];
    for (let i = 0; i < N; i++) {
      if (scope === 'flagged' && C.first[i] > level) continue;
      if (subset && !subset.has(i)) continue;
      items.push(i);
    }
    $('table-title').textContent = (scope === 'flagged' ? `Flagged examples at p${L[level]}`
                                                        : 'All examples')
        + (subset ? ', within the plot selection' : '');
    subsetInfo.textContent = subset
        ? `plot selection: ${subset.size} points (double-click the plot to clear)`
        : 'box/lasso-select on the plot to filter';
    table.setItems(items);
  }

  function setLevel(k) {
    level = k; pct.value = k;
    let n = 0, tp = 0, noisy = 0;
    for (let i = 0; i < N; i++) {
      const f = C.first[i] <= k, z = isNoisy(i);
      if (f) n++; if (z) noisy++; if (f && z) tp++;
    }
    $('pct-value').textContent = 'p' + L[k];
    $('flagged-count').textContent = `${n} flagged (${num(100 * n / N, 1)} %)`;
    if (hasNoise) {
      // As aum_lib.detection_scores: precision tp / flagged, recall tp / noisy.
      const p = tp / Math.max(n, 1), r = tp / Math.max(noisy, 1);
      const f1 = 2 * p * r / Math.max(p + r, 1e-12);
      $('metrics').innerHTML = `Detection of the injected noise at p${L[k]}: `
          + `precision <b>${num(p, 3)}</b>, `
          + `recall <b>${num(r, 3)}</b>, F1 <b>${num(f1, 3)}</b> (${tp} of ${n} flagged are noisy, `
          + `${noisy} noisy in all); AUROC of \u2212AUM <b>${num(D.auroc, 3)}</b> `
          + '(any percentile).';
    } else {
      $('metrics').textContent = 'No injected noise known in this run: no detection metrics.';
    }
    if (colorBy === 'flag' && started) recolor(); else legend();  // At start: drawn so.
    Plotly.relayout(hist, {shapes: thresholdShapes(), 'title.text': histTitle()});
    refreshTable();
    if (selected >= 0) $('details').innerHTML = detailsHtml(selected);
  }

  const opts = {displaylogo: false, responsive: true};
  Promise.all([Plotly.newPlot(map, mapTraces, mapLayout, opts),
               Plotly.newPlot(hist, histTraces, histLayout, opts)])
    .then(() => {
      map.on('plotly_click', (ev) => {
        const i = at(ev);
        if (i !== undefined) { select(i); table.render(); }
      });
      map.on('plotly_hover', (ev) => {
        const i = at(ev);
        if (i !== undefined) showTip(i, ev.event);
      });
      map.on('plotly_unhover', () => { tip.style.display = 'none'; });
      map.on('plotly_selected', (ev) => {
        const pts = ev ? ev.points.filter((q) => q.curveNumber < SEL) : [];
        subset = pts.length ? new Set(pts.map((q) => G[q.curveNumber][q.pointIndex])) : null;
        refreshTable();
      });
      map.on('plotly_deselect', () => { subset = null; refreshTable(); });
      pct.addEventListener('input', () => setLevel(Number(pct.value)));
      $('color-by').addEventListener('change', (ev) => { colorBy = ev.target.value; recolor(); });
      legend();
      setLevel(level);
      started = true;
      window.explorer = {select, setLevel, plotted: () => P, webgl: gl};
      markReady();
    }).catch(showError);
})();
