// Colour helpers shared by the in-page audits (browser_audit.js, browser_focus.js), put in front
// of each by tests/it/browser_pages.rs: CSS colours parsed, blended and compared by WCAG's
// contrast ratio, the background an element is drawn on, a short selector for a report.
const problems = [];
const parse = (c) => {
  const m = /rgba?\(([^)]*)\)/.exec(c || '');
  if (!m) return null;
  const p = m[1].split(/[\s,/]+/).filter(Boolean).map(parseFloat);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
};
const over = (top, bottom) =>
  [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
const lum = (c) => {
  const ch = c.slice(0, 3).map((v) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
};
const ratio = (a, b) => {
  const [x, y] = [lum(a), lum(b)];
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
};
const hex = (c) => '#' + c.slice(0, 3).map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');
const bgOf = (el) => {
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor);
    if (c && c[3] > 0) {
      layers.push(c);
      if (c[3] >= 1) break;
    }
  }
  let bg = [255, 255, 255, 1];
  for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
  return bg;
};
const selector = (el) => {
  const parts = [];
  for (let e = el, depth = 0; e && depth < 4 && e !== document.body; e = e.parentElement, depth++) {
    let s = e.tagName.toLowerCase();
    if (e.id) {
      parts.unshift(s + '#' + e.id);
      break;
    }
    const classes = e.getAttribute('class');
    if (classes) s += '.' + classes.trim().split(/\s+/).join('.');
    parts.unshift(s);
  }
  return parts.join(' > ');
};
