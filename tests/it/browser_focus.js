// The focus-ring audit of tests/it/browser_pages.rs (WCAG 2.2 1.4.11 and 2.4.7): after a real
// Tab key press (so the browser treats focus as keyboard focus), every kind of focusable element
// is focused in turn (one per element kind and surrounding background, to stay fast); it must
// match :focus-visible, draw an outline at least 2px wide, and that outline's colour must be at
// least 3:1 against the background around the element (the ring sits outside it, offset).
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
const tried = new Set();
let count = 0;
for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
  if (!el.getClientRects().length || el.closest('.skip')) continue;
  const around = bgOf(el.parentElement);
  const key = [el.tagName, el.getAttribute('type'), el.getAttribute('class'), el.style.cssText, hex(around)].join('|');
  if (tried.has(key)) continue;
  tried.add(key);
  el.focus({ preventScroll: true, focusVisible: true });
  if (document.activeElement !== el) continue;
  count++;
  const cs = getComputedStyle(el);
  if (!el.matches(':focus-visible')) {
    problems.push(`focus ${selector(el)}: not :focus-visible after keyboard use`);
    continue;
  }
  const ring = parse(cs.outlineColor);
  if (cs.outlineStyle === 'none' || parseFloat(cs.outlineWidth) < 2 || !ring) {
    problems.push(`focus ${selector(el)}: no outline (${cs.outlineStyle} ${cs.outlineWidth})`);
    continue;
  }
  const r = ratio(over(ring, around), around);
  if (r < 3) {
    problems.push(`focus ring ${selector(el)}: ${hex(ring)} on ${hex(around)} = ${r.toFixed(2)}:1, needs 3:1`);
  }
}
window.scrollTo(0, 0);
return { problems, count };
