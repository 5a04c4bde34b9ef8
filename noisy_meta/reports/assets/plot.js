// Small hand-written plots, no library: a canvas scatter (the data map), an SVG
// histogram and an SVG curve chart. Axes cover every value they are given.
const SVGNS = 'http://www.w3.org/2000/svg';
function niceTicks(lo, hi, n) {  // About n round ticks inside [lo, hi].
  const raw = (hi - lo || 1) / Math.max(n, 1), mag = 10 ** Math.floor(Math.log10(raw));
  const e = raw / mag, step = mag * (e < 1.5 ? 1 : e < 3 ? 2 : e < 7 ? 5 : 10);
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    out.push(Math.abs(t) < step * 1e-9 ? 0 : +t.toPrecision(12));
  }
  return out;
}
function extent(arrays, pad) {  // [lo, hi] of every finite value, widened by pad of the span.
  let lo = Infinity, hi = -Infinity;
  for (const a of arrays) {
    for (const v of a) {
      if (v === null || !Number.isFinite(v)) continue;
      if (v < lo) lo = v; if (v > hi) hi = v;
    }
  }
  if (lo === Infinity) { lo = 0; hi = 1; }
  if (hi === lo) { lo -= 0.5; hi += 0.5; }
  const p = (hi - lo) * (pad || 0);
  return [lo - p, hi + p];
}
function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}
const M = {l: 56, r: 12, t: 30, b: 44};  // Plot margins in pixels.

// Data map: points k = 0..n-1 at (x[k], y[k]); big[k]: drawn as a larger cross.
// opts: {title, xlabel, ylabel, onClick(k), onHover(k, ev), onLeave(), onSelect(ks|null)}.
class Scatter {
  constructor(el, x, y, big, opts) {
    this.el = el; this.x = x; this.y = y; this.big = big; this.opts = opts;
    this.n = x.length; this.color = () => '#7f8fa6'; this.ring = -1; this.box = null;
    this.xr = extent([x], 0.04); this.yr = extent([y], 0.04);
    el.style.position = 'relative';
    this.base = document.createElement('canvas'); this.top = document.createElement('canvas');
    for (const c of [this.base, this.top]) {
      c.style.cssText = 'position:absolute;left:0;top:0;width:100%;height:100%';
      el.appendChild(c);
    }
    this.sprites = new Map();
    let down = null;
    const pos = (ev) => { const r = this.top.getBoundingClientRect();
      return [ev.clientX - r.left, ev.clientY - r.top]; };
    this.top.addEventListener('mousedown', (ev) => { down = pos(ev); ev.preventDefault(); });
    this.top.addEventListener('mousemove', (ev) => {
      const p = pos(ev);
      if (down && Math.hypot(p[0] - down[0], p[1] - down[1]) > 4) {
        this.box = [down, p]; this.overlay(); return;
      }
      const k = this.nearest(p);
      if (k >= 0 && opts.onHover) opts.onHover(k, ev); else if (opts.onLeave) opts.onLeave();
    });
    this.top.addEventListener('mouseleave', () => { if (opts.onLeave) opts.onLeave(); });
    window.addEventListener('mouseup', (ev) => {
      if (!down) return;
      const p = pos(ev), start = down; down = null;
      if (this.box) {
        const [a, b] = this.box, ks = [];
        const [x0, x1] = [Math.min(a[0], b[0]), Math.max(a[0], b[0])];
        const [y0, y1] = [Math.min(a[1], b[1]), Math.max(a[1], b[1])];
        for (let k = 0; k < this.n; k++) {
          const px = this.px(this.x[k]), py = this.py(this.y[k]);
          if (px >= x0 && px <= x1 && py >= y0 && py <= y1) ks.push(k);
        }
        if (opts.onSelect) opts.onSelect(ks);
        return;
      }
      const k = this.nearest(p);
      if (k >= 0 && Math.hypot(p[0] - start[0], p[1] - start[1]) <= 4 && opts.onClick) {
        opts.onClick(k);
      }
    });
    this.top.addEventListener('dblclick', () => {
      this.box = null; this.overlay(); if (opts.onSelect) opts.onSelect(null);
    });
    let pending = 0;
    window.addEventListener('resize', () => {
      clearTimeout(pending); pending = setTimeout(() => this.draw(), 150);
    });
  }
  px(v) { return M.l + (v - this.xr[0]) / (this.xr[1] - this.xr[0]) * this.w; }
  py(v) { return M.t + (this.yr[1] - v) / (this.yr[1] - this.yr[0]) * this.h; }
  sprite(color, cross) {  // A pre-drawn marker, stamped with drawImage (fast at 50k+).
    const key = color + (cross ? 'x' : 'o');
    let s = this.sprites.get(key);
    if (!s) {
      const d = this.dpr, r = cross ? 4 : 2.6, size = Math.ceil((2 * r + 2) * d);
      s = document.createElement('canvas'); s.width = s.height = size;
      const g = s.getContext('2d'); g.scale(d, d); g.globalAlpha = 0.8;
      g.strokeStyle = g.fillStyle = color; const c = size / d / 2;
      if (cross) {
        g.lineWidth = 1.8; g.beginPath(); g.moveTo(c - r, c - r); g.lineTo(c + r, c + r);
        g.moveTo(c + r, c - r); g.lineTo(c - r, c + r); g.stroke();
      } else { g.beginPath(); g.arc(c, c, r, 0, 2 * Math.PI); g.fill(); }
      this.sprites.set(key, s);
    }
    return s;
  }
  draw() {
    const W = this.el.clientWidth, H = this.el.clientHeight, d = window.devicePixelRatio || 1;
    if (d !== this.dpr) this.sprites.clear();
    this.dpr = d; this.w = W - M.l - M.r; this.h = H - M.t - M.b;
    for (const c of [this.base, this.top]) { c.width = W * d; c.height = H * d; }
    const g = this.base.getContext('2d');
    g.setTransform(d, 0, 0, d, 0, 0);
    axes(g, this.xr, this.yr, this, this.opts);
    g.save(); g.beginPath(); g.rect(M.l, M.t, this.w, this.h); g.clip();
    // Grid of pixel cells for hover and click: cell -> points in it.
    this.cells = new Map();
    for (const pass of [0, 1]) {  // Circles first, crosses (injected noise) on top.
      for (let k = 0; k < this.n; k++) {
        const cross = this.big ? this.big[k] : 0;
        if (cross !== pass) continue;
        const px = this.px(this.x[k]), py = this.py(this.y[k]);
        if (!Number.isFinite(px) || !Number.isFinite(py)) continue;
        const s = this.sprite(this.color(k), cross), h = s.width / d / 2;
        g.drawImage(s, px - h, py - h, 2 * h, 2 * h);
        const key = Math.floor(px / 8) * 4096 + Math.floor(py / 8);
        const cell = this.cells.get(key);
        if (cell) cell.push(k); else this.cells.set(key, [k]);
      }
    }
    g.restore();
    this.overlay();
  }
  nearest([x, y]) {  // The point within 8 px of (x, y), or -1.
    let best = -1, bd = 64;
    const cx = Math.floor(x / 8), cy = Math.floor(y / 8);
    for (let a = cx - 1; a <= cx + 1; a++) {
      for (let b = cy - 1; b <= cy + 1; b++) {
        for (const k of this.cells.get(a * 4096 + b) || []) {
          const dx = this.px(this.x[k]) - x, dy = this.py(this.y[k]) - y, dd = dx * dx + dy * dy;
          if (dd <= bd) { bd = dd; best = k; }
        }
      }
    }
    return best;
  }
  overlay() {  // The selected point's ring and the box being dragged.
    const g = this.top.getContext('2d'), d = this.dpr;
    g.setTransform(d, 0, 0, d, 0, 0); g.clearRect(0, 0, this.top.width, this.top.height);
    if (this.ring >= 0) {
      g.strokeStyle = '#000'; g.lineWidth = 2; g.beginPath();
      g.arc(this.px(this.x[this.ring]), this.py(this.y[this.ring]), 9, 0, 2 * Math.PI); g.stroke();
    }
    if (this.box) {
      const [a, b] = this.box;
      g.fillStyle = 'rgba(60,110,200,.12)'; g.strokeStyle = '#3c6ec8'; g.lineWidth = 1;
      g.fillRect(a[0], a[1], b[0] - a[0], b[1] - a[1]);
      g.strokeRect(a[0], a[1], b[0] - a[0], b[1] - a[1]);
    }
  }
  setRing(k) { this.ring = k; this.overlay(); }
}
function axes(g, xr, yr, s, opts) {  // Frame, ticks, labels and title on a 2-D context.
  g.clearRect(0, 0, s.w + M.l + M.r, s.h + M.t + M.b);
  g.strokeStyle = '#bbb'; g.lineWidth = 1; g.strokeRect(M.l, M.t, s.w, s.h);
  g.fillStyle = '#444'; g.font = '11px system-ui,sans-serif';
  g.textAlign = 'center'; g.textBaseline = 'top';
  for (const t of niceTicks(xr[0], xr[1], 7)) {
    const p = s.px(t); g.fillText(String(t), p, M.t + s.h + 4);
    g.fillRect(p, M.t + s.h, 1, 4);
  }
  g.textAlign = 'right'; g.textBaseline = 'middle';
  for (const t of niceTicks(yr[0], yr[1], 6)) {
    const p = s.py(t); g.fillText(String(t), M.l - 6, p); g.fillRect(M.l - 4, p, 4, 1);
  }
  g.font = '12px system-ui,sans-serif'; g.textAlign = 'center'; g.textBaseline = 'bottom';
  g.fillText(opts.xlabel, M.l + s.w / 2, M.t + s.h + M.b - 2);
  g.save(); g.translate(14, M.t + s.h / 2); g.rotate(-Math.PI / 2); g.textBaseline = 'middle';
  g.fillText(opts.ylabel, 0, 0); g.restore();
  g.font = '14px system-ui,sans-serif'; g.textAlign = 'left'; g.textBaseline = 'top';
  g.fillText(opts.title, M.l, 8);
}

// Overlaid histograms of series [{values, name, color}] on one SVG, vertical lines at
// `lines` ([{x, dash}]); the x axis spans every value and every line. Returns {lo, hi}.
function histogram(el, series, lines, title, nbins) {
  nbins = nbins || 60;
  const [lo, hi] = extent(series.map((s) => s.values).concat([lines.map((l) => l.x)]), 0);
  const w = (hi - lo) / nbins, counts = series.map((s) => {
    const c = new Array(nbins).fill(0);
    for (const v of s.values) {
      if (v === null || !Number.isFinite(v)) continue;
      c[Math.min(nbins - 1, Math.max(0, Math.floor((v - lo) / w)))]++;
    }
    return c;
  });
  let top = 1;
  for (const c of counts) for (const v of c) if (v > top) top = v;
  const W = el.clientWidth || 800, H = el.clientHeight || 320, pw = W - M.l - M.r;
  const ph = H - M.t - M.b - 22;
  const X = (v) => M.l + (v - lo) / (hi - lo) * pw, Y = (v) => M.t + ph - v / top * ph;
  const svg = svgEl('svg', {width: W, height: H, 'font-size': 11});
  svg.appendChild(svgEl('text', {x: M.l, y: 18, 'font-size': 13}, title));
  svg.appendChild(svgEl('rect', {x: M.l, y: M.t, width: pw, height: ph, fill: 'none',
                                 stroke: '#bbb'}));
  series.forEach((s, j) => counts[j].forEach((c, b) => {
    if (!c) return;
    const r = svgEl('rect', {x: X(lo + b * w), y: Y(c), width: Math.max(pw / nbins - 0.5, 0.5),
                             height: M.t + ph - Y(c), fill: s.color, 'fill-opacity': 0.55});
    r.appendChild(svgEl('title', {}, `${s.name}: ${c} in [${num(lo + b * w, 3)}, `
                                     + `${num(lo + (b + 1) * w, 3)})`));
    svg.appendChild(r);
  }));
  for (const l of lines) {
    svg.appendChild(svgEl('line', {x1: X(l.x), x2: X(l.x), y1: M.t, y2: M.t + ph, stroke: '#000',
                                   'stroke-width': 1.5, 'stroke-dasharray': l.dash ? '5 3' : ''}));
  }
  for (const t of niceTicks(lo, hi, 8)) {
    svg.appendChild(svgEl('text', {x: X(t), y: M.t + ph + 14, 'text-anchor': 'middle'}, t));
  }
  for (const t of niceTicks(0, top, 4)) {
    if (t !== Math.round(t)) continue;
    svg.appendChild(svgEl('text', {x: M.l - 6, y: Y(t) + 4, 'text-anchor': 'end'}, t));
  }
  svg.appendChild(svgEl('text', {x: M.l + pw / 2, y: M.t + ph + 30, 'text-anchor': 'middle',
                                 'font-size': 12}, 'AUM'));
  let x = M.l;
  for (const s of series) {
    svg.appendChild(svgEl('rect', {x, y: H - 14, width: 10, height: 10, fill: s.color,
                                   'fill-opacity': 0.55}));
    const t = svgEl('text', {x: x + 14, y: H - 5}, s.name);
    svg.appendChild(t); x += 24 + 6.2 * s.name.length;
  }
  el.replaceChildren(svg);
  return {lo, hi};
}

// A curve chart on a log x axis: series [{name, color, line, points: [{x, y, lo, hi, tip,
// bad}]}] (lo/hi: an error bar; bad: a red cross). ticks: [{x, label}].
function curveChart(el, series, ticks, ylabel) {
  const W = el.clientWidth || 900, H = el.clientHeight || 480;
  const pw = W - M.l - M.r - 200, ph = H - M.t - M.b - 16;
  const xs = ticks.map((t) => Math.log10(t.x));
  const xr = extent([xs], 0), pad = (xr[1] - xr[0]) * 0.12 || 0.3;
  const ys = [];
  for (const s of series) for (const p of s.points) ys.push(p.y, p.lo, p.hi);
  const yr = [0, extent([ys.filter((v) => v !== undefined)], 0.05)[1]];
  const X = (v) => M.l + (Math.log10(v) - xr[0] + pad) / (xr[1] - xr[0] + 2 * pad) * pw;
  const Y = (v) => M.t + ph - (v - yr[0]) / (yr[1] - yr[0]) * ph;
  const svg = svgEl('svg', {width: W, height: H, 'font-size': 11});
  svg.appendChild(svgEl('rect', {x: M.l, y: M.t, width: pw, height: ph, fill: 'none',
                                 stroke: '#bbb'}));
  for (const t of ticks) {
    svg.appendChild(svgEl('text', {x: X(t.x), y: M.t + ph + 14, 'text-anchor': 'middle'},
                          t.label));
  }
  for (const t of niceTicks(yr[0], yr[1], 6)) {
    svg.appendChild(svgEl('text', {x: M.l - 6, y: Y(t) + 4, 'text-anchor': 'end'}, t));
    svg.appendChild(svgEl('line', {x1: M.l, x2: M.l + pw, y1: Y(t), y2: Y(t), stroke: '#eee'}));
  }
  svg.appendChild(svgEl('text', {x: M.l + pw / 2, y: M.t + ph + 32, 'text-anchor': 'middle',
                                 'font-size': 12}, 'training data used (%)'));
  const yl = svgEl('text', {x: 14, y: M.t + ph / 2, 'text-anchor': 'middle', 'font-size': 12,
                            transform: `rotate(-90 14 ${M.t + ph / 2})`}, ylabel);
  svg.appendChild(yl);
  series.forEach((s, j) => {
    const g = svgEl('g', {class: 'series', 'data-name': s.name});
    if (s.line && s.points.length > 1) {
      g.appendChild(svgEl('polyline', {fill: 'none', stroke: s.color, 'stroke-width': 2,
        points: s.points.map((p) => `${X(p.x)},${Y(p.y)}`).join(' ')}));
    }
    for (const p of s.points) {
      if (p.y === null || p.y === undefined) continue;
      const m = svgEl('g', {class: 'pt'});
      if (p.lo !== undefined) {
        m.appendChild(svgEl('line', {x1: X(p.x), x2: X(p.x), y1: Y(p.lo), y2: Y(p.hi),
                                     stroke: s.color, 'stroke-width': 1.5}));
      }
      const cx = X(p.x), cy = Y(p.y), r = s.line ? 5 : 3.5;
      if (p.bad) {
        m.appendChild(svgEl('path', {d: `M${cx - r} ${cy - r}L${cx + r} ${cy + r}M${cx + r} `
          + `${cy - r}L${cx - r} ${cy + r}`, stroke: '#d62728', 'stroke-width': 2}));
      } else {
        m.appendChild(svgEl('circle', {cx, cy, r, fill: s.hollow ? 'none' : s.color,
          stroke: s.color, 'stroke-width': s.hollow ? 2 : 0, 'fill-opacity': s.line ? 1 : 0.6}));
      }
      m.appendChild(svgEl('title', {}, p.tip));
      g.appendChild(m);
    }
    svg.appendChild(g);
    svg.appendChild(svgEl('rect', {x: M.l + pw + 12, y: M.t + 18 * j, width: 10, height: 10,
                                   fill: s.color}));
    svg.appendChild(svgEl('text', {x: M.l + pw + 26, y: M.t + 18 * j + 9}, s.name));
  });
  el.replaceChildren(svg);
}
