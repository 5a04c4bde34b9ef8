(function () {
  const D = JSON.parse($('explorer-data').textContent);
  const C = D.cols, N = D.n, L = D.levels, names = D.label_names;
  const FLAG = '#d62728', KEPT = '#7f8fa6', NOISE = '#e07b00';
  const MARK_COLOR = {relabel: '#2166ac', drop: '#333', keep: '#2ca02c'};
  const lname = (c) => (c === null || c === undefined || c < 0) ? '\u2014'
      : esc(c < names.length ? names[c] : c);
  const idOf = (i) => (C.id ? C.id[i] : i);
  const hasNoise = C.noisy !== null;
  const isNoisy = (i) => hasNoise && C.noisy.charCodeAt(i) === 49;
  const bit = (s, i) => s.charCodeAt(i) === 49;
  const ones = (s) => { let n = 0; for (let i = 0; i < s.length; i++) n += s.charCodeAt(i) === 49;
                        return n; };
  let level = D.default_level, selected = -1, colorBy = 'flag', scope = 'flagged', subset = null;
  let started = false;
  const flagged = (i) => C.first[i] <= level;

  $('title').textContent = (D.synthetic ? 'SYNTHETIC DATA \u2014 ' : '') + 'AUM explorer: '
      + D.task + ' (' + D.workdir + ')';
  $('banners').innerHTML = D.banners.map((b) => `<div class="banner">${esc(b)}</div>`).join('');
  const det = D.chosen_detector || 'aum';
  $('headline').innerHTML = D.flagged === null
      ? 'examples.csv has no <code>flagged</code> column: the counts below are AUM\u2019s at the '
        + 'chosen percentile.'
      : `<b id="headline-count">${ones(D.flagged)}</b> of ${N} examples flagged by the `
        + `<b>${esc(det)}</b> detector, the job\u2019s choice (examples.csv\u2019s `
        + '<code>flagged</code> column; what cleaning drops or relabels).'
        + (D.why ? ` <span id="headline-why">${esc(D.why)}</span>` : '');
  $('subtitle').innerHTML = `${N} training examples; `
      + (hasNoise ? `injected noise rate ${esc(D.noise_rate)} (${ones(C.noisy)} labels flipped)`
                  : 'no injected noise known')
      + `; threshold samples per run ${D.threshold_counts.join(', ')}; labels: `
      + names.map(esc).join(', ') + '.'
      + (D.levels_note ? ` <span class="warn">Percentiles: ${esc(D.levels_note)}.</span>` : '');

  // Percentile control: an index into D.levels (every integer 0-100 when the runs'
  // dynamics are there, else the run's own percentiles).
  const pct = $('pct');
  pct.min = 0; pct.max = L.length - 1; pct.step = 1; pct.value = level;
  $('pct-ticks').innerHTML = D.percentiles.map((p) => `<option value="${L.indexOf(p)}">`).join('');

  const modes = [['flag', 'flagged at the percentile'], ['aum', 'AUM'],
                 ['review', 'review marks']];
  if (hasNoise) modes.push(['noise', 'injected noise']);
  for (const d of Object.keys(D.det)) {
    modes.push(['det:' + d, `detector ${d}'s flag` + (d === det ? ' (cleans)' : '')]);
  }
  $('color-by').innerHTML = modes.map(([v, t]) => `<option value="${esc(v)}">${esc(t)}</option>`)
      .join('');

  // ---- Review marks: {example index: {d: relabel|drop|keep, to, aum, score}}, saved in
  // localStorage by example id under the run's digest.
  const KEY = 'noisy_meta.review.' + D.run_key;
  const byId = new Map();
  for (let i = 0; i < N; i++) byId.set(String(idOf(i)), i);
  let marks = new Map();
  const checked = new Set();
  function save() {
    const out = {};
    for (const [i, m] of marks) out[idOf(i)] = m;
    try { localStorage.setItem(KEY, JSON.stringify(out)); }
    catch (e) { $('review-status').textContent = 'not saved in this browser: ' + e; }
  }
  try {
    const got = JSON.parse(localStorage.getItem(KEY) || '{}');
    for (const id in got) if (byId.has(id)) marks.set(byId.get(id), got[id]);
  } catch (e) { console.warn('review marks unreadable', e); }
  function mark(i, d, to) {  // d: relabel|drop|keep|null (clear); relabel to the given = keep.
    if (d === 'relabel' && to === C.label[i]) d = 'keep';
    if (!d) marks.delete(i);
    else {
      marks.set(i, {d, to: d === 'relabel' ? to : null, aum: C.aum[i],
                    score: D.score_flagged ? D.score_flagged[i] : null});
    }
  }
  function changed() {
    save();
    const n = {relabel: 0, drop: 0, keep: 0};
    for (const m of marks.values()) n[m.d]++;
    $('review-count').textContent = `${marks.size} marked (${n.relabel} relabel, ${n.drop} drop, `
        + `${n.keep} right); ${checked.size} checked`;
    if (scope === 'marked') refreshTable(); else table.render();
    if (selected >= 0) $('details').innerHTML = detailsHtml(selected);
    if (colorBy === 'review' && started) redraw();
  }
  const markHtml = (i) => {
    const m = marks.get(i);
    if (!m) return '';
    return `<span class="mark m-${m.d}">` + (m.d === 'relabel' ? '\u2192 ' + lname(m.to)
        : m.d === 'drop' ? 'drop' : 'right') + '</span>';
  };
  function csvCell(v) {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  const HEADER = ['id', 'where', 'given', 'decision', 'new_label', 'score_aum', 'score_flagged',
                  'detector'];
  function correctionsCsv() {  // docs/explorer.md: the format --config.input.corrections reads.
    const rows = [...marks.keys()].sort((a, b) => idOf(a) - idOf(b)).map((i) => {
      const m = marks.get(i);
      return [idOf(i), D.cols.source_prefix + C.source[i], names[C.label[i]], m.d,
              m.d === 'relabel' ? names[m.to] : '', m.aum, m.score, det].map(csvCell).join(',');
    });
    return [HEADER.join(',')].concat(rows).join('\r\n') + '\r\n';
  }
  function parseCsv(text) {  // RFC 4180: quoted fields, doubled quotes, CRLF or LF.
    const rows = []; let row = [], f = '', q = false;
    for (let k = 0; k < text.length; k++) {
      const c = text[k];
      if (q) {
        if (c === '"' && text[k + 1] === '"') { f += '"'; k++; }
        else if (c === '"') q = false; else f += c;
      } else if (c === '"') q = true;
      else if (c === ',') { row.push(f); f = ''; }
      else if (c === '\n' || c === '\r') {
        if (c === '\r' && text[k + 1] === '\n') k++;
        row.push(f); rows.push(row); row = []; f = '';
      } else f += c;
    }
    if (f !== '' || row.length) { row.push(f); rows.push(row); }
    return rows.filter((r) => r.length > 1 || r[0] !== '');
  }
  function importCsv(text) {  // Marks from a corrections.csv; returns {applied, skipped}.
    const rows = parseCsv(text.replace(/^\ufeff/, ''));
    const h = rows.length ? rows[0] : [], col = (k) => h.indexOf(k);
    if (col('id') < 0 || col('decision') < 0) {
      throw new Error('not a corrections.csv: its header needs id and decision');
    }
    let applied = 0; const skipped = [];
    for (const r of rows.slice(1)) {
      const id = r[col('id')], d = r[col('decision')], i = byId.get(id);
      const label = col('new_label') >= 0 ? r[col('new_label')] : '';
      const to = names.indexOf(label);
      if (i === undefined) { skipped.push(`unknown id ${id}`); continue; }
      if (!['relabel', 'drop', 'keep'].includes(d)) { skipped.push(`id ${id}: decision ${d}`); continue; }
      if (d === 'relabel' && to < 0) { skipped.push(`id ${id}: label ${label}`); continue; }
      const score = (k) => (col(k) >= 0 && r[col(k)] !== '' ? Number(r[col(k)]) : null);
      marks.set(i, {d, to: d === 'relabel' ? to : null, aum: score('score_aum'),
                    score: score('score_flagged')});
      applied++;
    }
    changed();
    $('review-status').textContent = `imported ${applied} mark${applied === 1 ? '' : 's'}`
        + (skipped.length ? `; skipped ${skipped.length}: ${skipped.slice(0, 5).join('; ')}` : '');
    return {applied, skipped};
  }
  function download() {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([correctionsCsv()], {type: 'text/csv'}));
    a.download = 'corrections.csv';
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  // ---- The data map: all examples (or the build's sample) on a canvas.
  const P = D.plot_idx || Array.from({length: N}, (_, i) => i);
  $('plot-note').textContent = D.plot_idx ? `The plot shows a uniform sample of ${P.length} of `
      + `the ${N} examples; the table has all.` : '';
  const AUM_SCALE = [];  // 21 steps, red (low AUM, suspect) - grey - blue.
  for (let s = 0; s <= 20; s++) {
    const t = s / 10 - 1, a = Math.abs(t), [r, g, b] = t < 0 ? [178, 24, 43] : [33, 102, 172];
    AUM_SCALE.push(`rgb(${Math.round(232 + (r - 232) * a)},${Math.round(232 + (g - 232) * a)},`
                   + `${Math.round(232 + (b - 232) * a)})`);
  }
  let aumLim = 1;
  {
    const mag = Float64Array.from(P, (i) => Math.abs(C.aum[i] || 0)).sort();
    aumLim = Math.max(mag[Math.floor(0.98 * (mag.length - 1))] || 0, 1e-6);  // p98 of |AUM|.
  }
  function colorOf(i) {
    if (colorBy === 'aum') {
      const t = Math.max(-1, Math.min(1, (C.aum[i] || 0) / aumLim));
      return AUM_SCALE[Math.round((t + 1) * 10)];
    }
    if (colorBy === 'review') { const m = marks.get(i); return m ? MARK_COLOR[m.d] : '#d0d4dc'; }
    if (colorBy === 'flag') return flagged(i) ? FLAG : KEPT;
    if (colorBy === 'noise') return isNoisy(i) ? NOISE : KEPT;
    return bit(D.det[colorBy.slice(4)], i) ? FLAG : KEPT;
  }
  function legend() {
    const dot = (c, t) => `<span class="dot" style="background:${c}"></span>${t}`;
    let h;
    if (colorBy === 'aum') {
      h = `Colour: AUM (red low, blue high; saturated beyond \u00b1${num(aumLim, 2)}).`;
    } else if (colorBy === 'review') {
      h = dot('#d0d4dc', 'not marked') + dot(MARK_COLOR.relabel, 'relabel')
          + dot(MARK_COLOR.drop, 'drop') + dot(MARK_COLOR.keep, 'label is right') + '.';
    } else {
      const [off, on] = {flag: ['kept', `flagged (AUM below the p${L[level]} threshold)`],
                         noise: ['label left as it was', 'injected noise']}[colorBy]
          || ['not flagged', `flagged by detector ${esc(colorBy.slice(4))}`];
      h = dot(KEPT, off) + dot(colorBy === 'noise' ? NOISE : FLAG, on) + '.';
    }
    $('legend').innerHTML = h + (hasNoise ? ' Crosses (larger): injected noise; circles: labels '
        + 'left as they were.' : '') + ' Drag a box to filter the table; double-click clears.';
  }
  const tip = $('tip');
  const scatter = new Scatter($('map'), Float64Array.from(P, (i) => C.variability[i]),
    Float64Array.from(P, (i) => C.confidence[i]), Uint8Array.from(P, (i) => (isNoisy(i) ? 1 : 0)),
    {title: 'Data map: variability \u00d7 confidence', xlabel: 'variability',
     ylabel: 'confidence',
     onClick: (k) => { select(P[k]); table.show(P[k]) || table.render(); },
     onHover: (k, ev) => showTip(P[k], ev), onLeave: () => { tip.style.display = 'none'; },
     onSelect: (ks) => {
       subset = ks && ks.length ? new Set(ks.map((k) => P[k])) : null; refreshTable();
     }});
  scatter.color = (k) => colorOf(P[k]);
  const plotPos = new Map(P.map((i, k) => [i, k]));
  function redraw() { scatter.draw(); legend(); }

  // ---- Histograms: threshold samples vs the rest, thresholds at the percentile.
  const rest = [], restNoisy = [], thrJudged = [];
  for (let i = 0; i < N; i++) {
    if (C.thr.charCodeAt(i) !== 48) thrJudged.push(C.aum[i]);
    else if (isNoisy(i)) restNoisy.push(C.aum[i]);
    else rest.push(C.aum[i]);
  }
  const thrAum = D.fake_aum || thrJudged;
  const series = [{values: thrAum, color: '#9467bd', name: (D.fake_aum
      ? 'threshold samples: AUM as the fake class' : 'threshold samples: AUM in their judging run')
      + ` (n=${thrAum.length})`},
    {values: rest, color: '#1f77b4', name: (hasNoise ? 'other examples, clean' : 'other examples')
      + ` (n=${rest.length})`}];
  if (hasNoise) {
    series.push({values: restNoisy, color: NOISE,
                 name: `other examples, injected noise (n=${restNoisy.length})`});
  }
  let histRange = null;
  function drawHist() {
    const t = D.thresholds[level];
    const title = `AUM (judging run); lines: p${L[level]} thresholds`
        + (t ? ` (run 1 ${num(t[0], 3)}, run 2 ${num(t[1], 3)})`
             : ' (not recorded at this percentile)');
    const lines = t ? t.map((x, r) => ({x, dash: r > 0})).filter((l) => l.x !== null) : [];
    histRange = histogram($('hist'), series, lines, title);
  }

  // ---- Details panel and hover tip.
  const btn = (act, text) => `<button data-act="${act}">${text}</button>`;
  function detailsHtml(i) {
    const f = flagged(i), tr = C.thr.charCodeAt(i) - 48;
    const rows = [['given label', lname(C.label[i])]];
    if (C.orig) rows.push(['original label', lname(C.orig[i])
        + (isNoisy(i) ? ' <span class="badge b-noise">injected noise</span>' : '')]);
    rows.push(['suggested label', C.suggest ? lname(C.suggest[i]) + ' (if flipped)' : '\u2014'],
      ['AUM', num(C.aum[i], 4) + ` (judged in run ${C.judged[i]})`]);
    if (D.score_flagged) rows.push([`${det} score`, num(D.score_flagged[i], 4)]);
    if (D.flagged) rows.push([`flagged by ${det} (the job)`, bit(D.flagged, i) ? 'yes' : 'no']);
    rows.push(['confidence', num(C.confidence[i], 4)], ['variability', num(C.variability[i], 4)],
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
    const review = '<div class="review-row">Review: ' + (markHtml(i) || 'not marked') + '<br>'
        + names.map((n, c) => (c === C.label[i] ? '' : btn('to:' + c, '\u2192 ' + esc(n))))
            .join(' ') + ' ' + btn('drop', 'drop') + ' ' + btn('keep', 'label is right') + ' '
        + btn('clear', 'clear') + '</div>';
    return `<h3>Example #${esc(idOf(i))}<span class="badge ${f ? 'b-flag' : 'b-kept'}">`
        + `${f ? 'flagged' : 'kept'}</span></h3><div class="text">${C.html[i]}</div>`
        + (D.relation ? '<p class="legend"><span class="ent ent-s">subject</span> '
                        + '<span class="ent ent-o">object</span></p>' : '') + review + '<table>'
        + rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${v}</td></tr>`).join('') + '</table>';
  }
  $('details').addEventListener('click', (ev) => {
    const act = ev.target.dataset && ev.target.dataset.act;
    if (!act || selected < 0) return;
    if (act.startsWith('to:')) mark(selected, 'relabel', Number(act.slice(3)));
    else mark(selected, act === 'clear' ? null : act);
    changed();
  });
  function select(i) {
    selected = i;
    $('details').innerHTML = detailsHtml(i);
    scatter.setRing(plotPos.has(i) ? plotPos.get(i) : -1);
  }
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

  // ---- Table of flagged (or all, or marked) examples, linked to the plot.
  let search = null;
  const stripTags = (s) => s.replace(/<[^>]*>/g, '');
  const cols = [
    {label: '\u2713', value: (i) => (checked.has(i) ? 1 : 0), dir: -1,
     html: (i) => `<input type="checkbox"${checked.has(i) ? ' checked' : ''}>`},
    {label: 'id', value: (i) => idOf(i), html: (i) => esc(idOf(i)), num: true},
    {label: 'text', value: (i) => C.html[i], html: (i) => C.html[i]},
    {label: 'given', value: (i) => C.label[i], html: (i) => lname(C.label[i])}];
  const labelCol = (label, a) => ({label, value: (i) => a[i], html: (i) => lname(a[i])});
  if (C.orig) cols.push(labelCol('original', C.orig));
  if (C.suggest) cols.push(labelCol('suggested', C.suggest));
  cols.push({label: 'review', value: (i) => (marks.has(i) ? marks.get(i).d : null),
             html: markHtml},
    {label: 'AUM', value: (i) => C.aum[i], html: (i) => num(C.aum[i], 3), num: true});
  if (D.score_flagged) cols.push({label: det + ' score', value: (i) => D.score_flagged[i],
    html: (i) => num(D.score_flagged[i], 3), num: true, dir: -1});
  cols.push({label: 'confidence', value: (i) => C.confidence[i],
             html: (i) => num(C.confidence[i], 3), num: true, dir: -1},
    {label: 'variability', value: (i) => C.variability[i], html: (i) => num(C.variability[i], 3),
     num: true, dir: -1});
  if (hasNoise) cols.push({label: 'noise', value: (i) => (isNoisy(i) ? 1 : 0), dir: -1,
    html: (i) => (isNoisy(i) ? '<span class="badge b-noise">injected</span>' : '')});
  const aumCol = cols.findIndex((c) => c.label === 'AUM');
  const scopeSel = document.createElement('select');
  scopeSel.innerHTML = '<option value="flagged">flagged at the percentile</option>'
      + (D.flagged ? `<option value="job">flagged by ${esc(det)} (the job)</option>` : '')
      + '<option value="marked">marked in review</option><option value="all">all examples</option>';
  const table = new Table($('table'), cols, {
    sort: aumCol, dir: 1, pageSize: 50, selected: () => selected, onRow: select,
    placeholder: 'search text, label; #id finds that id',
    onCheck: (i, on) => { if (on) checked.add(i); else checked.delete(i); changed(); },
    rowClass: (i) => (marks.has(i) ? 'r-' + marks.get(i).d : ''),
    match: (q) => {  // '#12': exactly the example with id 12, not 120 or 1234.
      if (!/^#\s*\d+$/.test(q)) return null;
      const i = byId.get(String(Number(q.slice(1).trim())));
      return (j) => j === i;
    },
    text: (i) => {
      if (!search) {  // Built on the first search: lowercase, escaped like the query.
        search = Array.from({length: N}, (_, j) => (lname(C.label[j]) + ' '
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
      if (scope === 'job' && !bit(D.flagged, i)) continue;
      if (scope === 'marked' && !marks.has(i)) continue;
      if (subset && !subset.has(i)) continue;
      items.push(i);
    }
    $('table-title').textContent = ({flagged: `Flagged examples at p${L[level]}`,
        job: `Flagged by ${det} (the job)`, marked: 'Marked in review'}[scope] || 'All examples')
        + (subset ? ', within the plot selection' : '');
    subsetInfo.textContent = subset
        ? `plot selection: ${subset.size} points (double-click the plot to clear)`
        : 'drag a box on the plot to filter';
    table.setItems(items);
  }

  // ---- Review controls and keys.
  $('bulk-label').innerHTML = names.map((n, c) => `<option value="${c}">\u2192 ${esc(n)}</option>`)
      .join('');
  $('key-classes').textContent = names.slice(0, 10).map((n, c) => `${c} ${n}`).join(', ');
  function bulk(d) {
    const targets = $('bulk-scope').value === 'view' ? table.view : [...checked];
    const to = Number($('bulk-label').value);
    for (const i of targets) mark(i, d, to);
    changed();
    $('review-status').textContent = `${d || 'clear'}: ${targets.length} rows`;
  }
  $('bulk-relabel').addEventListener('click', () => bulk('relabel'));
  $('bulk-drop').addEventListener('click', () => bulk('drop'));
  $('bulk-keep').addEventListener('click', () => bulk('keep'));
  $('bulk-clear').addEventListener('click', () => bulk(null));
  $('export').addEventListener('click', download);
  $('import').addEventListener('change', (ev) => {
    const f = ev.target.files[0];
    if (!f) return;
    f.text().then(importCsv).catch((e) => { $('review-status').textContent = String(e); })
      .finally(() => { ev.target.value = ''; });
  });
  function step(d) {  // The next (d = 1) or previous row of the table's view.
    const v = table.view;
    if (!v.length) return;
    const k = v.indexOf(selected);
    const j = k < 0 ? 0 : Math.max(0, Math.min(v.length - 1, k + d));
    select(v[j]); table.show(v[j]);
  }
  document.addEventListener('keydown', (ev) => {
    const t = ev.target, tag = t.tagName;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if ((tag === 'INPUT' && t.type !== 'checkbox') || tag === 'SELECT' || tag === 'TEXTAREA') return;
    const key = ev.key;
    let done = true;
    if (key === 'j' || key === 'ArrowDown') step(1);
    else if (key === 'k' || key === 'ArrowUp') step(-1);
    else if (selected < 0) done = false;
    else if (/^[0-9]$/.test(key) && Number(key) < names.length) {
      mark(selected, 'relabel', Number(key)); changed(); step(1);
    } else if (key === 'd') { mark(selected, 'drop'); changed(); step(1); }
    else if (key === 'r') { mark(selected, 'keep'); changed(); step(1); }
    else if (key === 'u') { mark(selected, null); changed(); }
    else if (key === 'x') {
      if (checked.has(selected)) checked.delete(selected); else checked.add(selected);
      changed();
    } else done = false;
    if (done) ev.preventDefault();
  });

  function setLevel(k) {
    level = k; pct.value = k;
    let n = 0, tp = 0, noisy = 0;
    for (let i = 0; i < N; i++) {
      const f = C.first[i] <= k, z = isNoisy(i);
      if (f) n++; if (z) noisy++; if (f && z) tp++;
    }
    $('pct-value').textContent = 'p' + L[k];
    $('flagged-count').textContent = `${n} flagged (${num(100 * n / N, 1)} %) by AUM at p${L[k]}`;
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
    if (colorBy === 'flag' && started) scatter.draw();
    legend();
    drawHist();
    refreshTable();
    if (selected >= 0) $('details').innerHTML = detailsHtml(selected);
  }

  try {
    pct.addEventListener('input', () => setLevel(Number(pct.value)));
    let resized = 0;
    window.addEventListener('resize', () => { clearTimeout(resized); resized = setTimeout(drawHist, 150); });
    $('color-by').addEventListener('change', (ev) => { colorBy = ev.target.value; redraw(); });
    scatter.draw();
    setLevel(level);
    changed();
    started = true;
    window.explorer = {select, setLevel, plotted: () => P, scatter, mark, changed, importCsv,
                       correctionsCsv, marks: () => marks, histRange: () => histRange,
                       series: () => series};
    markReady();
  } catch (e) { showError(e); }
})();
