'use strict';
performance.mark('explorer-start');  // After the HTML and its data are parsed: the page's own work.
const $ = (id) => document.getElementById(id);
function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;').replace(/'/g, '&#x27;');
}
function num(v, d) {
  return v === null || v === undefined || Number.isNaN(v) ? '\u2014' : Number(v).toFixed(d);
}
function markReady() {  // The load-time marker: plots and table drawn, one frame painted.
  requestAnimationFrame(() => requestAnimationFrame(() => {
    window.explorerReadyMs = performance.now();
    document.body.dataset.ready = '1';
  }));
}
function showError(e) {
  console.error(e);
  const p = document.createElement('p');
  p.className = 'warn';
  p.textContent = 'The explorer failed: ' + e;
  document.body.prepend(p);
}
// A sortable, searchable, paged table. cols: [{label, value(item), html(item), num}];
// opts: {text(item): lowercase escaped search text, match(query): a predicate that replaces
// the text search for this query or null, onRow(item), onCheck(item, on), rowClass(item),
// selected(), sort, dir}.
class Table {
  constructor(el, cols, opts) {
    this.cols = cols; this.opts = opts; this.items = []; this.view = [];
    this.sort = opts.sort || 0; this.dir = opts.dir || 1; this.page = 0;
    this.size = opts.pageSize || 50; this.query = '';
    el.innerHTML = '<div class="tbar"><input type="search" placeholder="'
        + esc(opts.placeholder || 'search') + '">'
        + '<span class="count"></span><button class="prev">\u2039 prev</button>'
        + '<button class="next">next \u203a</button></div><table class="data"><thead><tr>'
        + cols.map((c, k) => `<th data-c="${k}" class="${c.num ? 'num' : ''}">${esc(c.label)}</th>`)
            .join('') + '</tr></thead><tbody></tbody></table>';
    this.el = el; this.tbody = el.querySelector('tbody');
    this.search = el.querySelector('input');
    this.search.addEventListener('input', () => {
      this.raw = this.search.value.trim();
      this.query = esc(this.raw.toLowerCase()); this.page = 0; this.refresh();
    });
    el.querySelector('.prev').addEventListener('click', () => this.turn(-1));
    el.querySelector('.next').addEventListener('click', () => this.turn(1));
    el.querySelector('thead').addEventListener('click', (ev) => {
      const th = ev.target.closest('th'); if (!th) return;
      const k = Number(th.dataset.c);
      this.dir = k === this.sort ? -this.dir : (cols[k].dir || 1); this.sort = k;
      this.page = 0; this.refresh();
    });
    this.tbody.addEventListener('click', (ev) => {
      const tr = ev.target.closest('tr'); if (!tr) return;
      const it = this.view[Number(tr.dataset.k)];
      if (ev.target.type === 'checkbox') { if (opts.onCheck) opts.onCheck(it, ev.target.checked); }
      else if (opts.onRow) opts.onRow(it);
      this.render();
    });
  }
  setItems(items) { this.items = items; this.refresh(); }
  show(it) {  // Turns to the page holding `it` (in the view); false when it is not there.
    const k = this.view.indexOf(it);
    if (k < 0) return false;
    this.page = Math.floor(k / this.size); this.render(); return true;
  }
  turn(d) {
    const last = Math.max(0, Math.ceil(this.view.length / this.size) - 1);
    this.page = Math.min(last, Math.max(0, this.page + d)); this.render();
  }
  refresh() {
    let v = this.items;
    const exact = this.query && this.opts.match ? this.opts.match(this.raw) : null;
    if (exact) v = v.filter(exact);
    else if (this.query && this.opts.text) v = v.filter((it) => this.opts.text(it).includes(this.query));
    const col = this.cols[this.sort], dir = this.dir;
    const dec = v.map((it) => [col.value(it), it]);  // Keys computed once, not per comparison.
    dec.sort((a, b) => {
      const x = a[0], y = b[0];
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * dir;
    });
    this.view = dec.map((d) => d[1]);
    v = this.view;
    this.page = Math.min(this.page, Math.max(0, Math.ceil(v.length / this.size) - 1));
    this.render();
  }
  render() {
    const s = this.page * this.size, rows = this.view.slice(s, s + this.size);
    const sel = this.opts.selected ? this.opts.selected() : undefined;
    const cls = (it) => [it === sel ? 'sel' : '', this.opts.rowClass ? this.opts.rowClass(it) : '']
        .join(' ').trim();
    this.tbody.innerHTML = rows.map((it, k) => `<tr data-k="${s + k}" class="${cls(it)}">`
        + this.cols.map(
            (c) => `<td class="${c.num ? 'num' : ''}">${c.html(it)}</td>`).join('') + '</tr>')
        .join('');
    this.el.querySelector('.count').textContent = this.view.length
        ? `rows ${s + 1}\u2013${s + rows.length} of ${this.view.length}` : 'no rows';
    this.el.querySelectorAll('th').forEach((th, k) => {
      const arrow = k === this.sort ? (this.dir > 0 ? ' \u25b2' : ' \u25bc') : '';
      th.textContent = this.cols[k].label + arrow;
    });
  }
}
