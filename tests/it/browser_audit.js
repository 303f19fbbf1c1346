// The in-page audit of tests/it/browser_pages.rs, run through WebDriver's "execute script"
// (its body is a function's: `return` hands the list of problems back). It checks, on the page
// as laid out at the current window width:
// - text contrast (WCAG 2.2 1.4.3): every visible text node's colour (SVG text: its fill)
//   against the background it is drawn on (the nearest ancestors' background colours, blended;
//   for SVG text, the shape under it), at least 4.5:1, or 3:1 for large text (24px, or 18.66px
//   bold); placeholders too;
// - form controls' boundary (1.4.11): an input's, select's or textarea's border at least 3:1
//   against what surrounds it and against its own fill.
// Each problem is one line: what, where (a short selector), the colours and the ratio.
// (The colour helpers — parse, over, lum, ratio, hex, bgOf, selector — come first: browser_colour.js.)
// Hidden from sight: no box, invisible, or inside a box clipped to (almost) nothing (the
// visually-hidden table head of the phone layout).
const hidden = (el) => {
  if (!el.getClientRects().length) return true;
  const cs = getComputedStyle(el);
  if (cs.visibility !== 'visible' || parseFloat(cs.opacity) === 0) return true;
  for (let e = el; e; e = e.parentElement) {
    const s = getComputedStyle(e);
    if (s.clipPath !== 'none' || s.clip !== 'auto' || s.overflow === 'hidden') {
      const r = e.getBoundingClientRect();
      if (r.width <= 1 || r.height <= 1) return true;
    }
  }
  return false;
};
const seen = new Set();
const report = (line) => {
  if (!seen.has(line)) {
    seen.add(line);
    problems.push(line);
  }
};

const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const checked = new Set();
let texts = 0;
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const el = node.parentElement;
  if (!el || checked.has(el) || !node.textContent.trim()) continue;
  if (['SCRIPT', 'STYLE', 'TITLE', 'DESC', 'OPTION', 'TEXTAREA', 'NOSCRIPT'].includes(el.tagName.toUpperCase())) continue;
  checked.add(el);
  if (hidden(el)) continue;
  texts++;
  const cs = getComputedStyle(el);
  const svg = el instanceof SVGElement;
  const fg = parse(svg ? cs.fill : cs.color);
  if (!fg) continue;
  let bg = bgOf(el);
  if (svg) {
    // What the text is drawn on inside the drawing: the shape under its middle, if any.
    el.scrollIntoView({ block: 'center' });
    const r = el.getBoundingClientRect();
    const under = document
      .elementsFromPoint(r.x + r.width / 2, r.y + r.height / 2)
      .find((u) => u !== el && u instanceof SVGGeometryElement && u.tagName !== 'line');
    const fill = under && parse(getComputedStyle(under).fill);
    if (fill) bg = over(fill, bg);
  }
  const color = over(fg, bg);
  const size = parseFloat(cs.fontSize);
  const bold = parseInt(cs.fontWeight, 10) >= 700;
  const large = size >= 24 || (size >= 18.66 && bold);
  const need = large ? 3 : 4.5;
  const r = ratio(color, bg);
  if (r < need) {
    const text = node.textContent.trim().slice(0, 30);
    report(`text "${text}" at ${selector(el)}: ${hex(color)} on ${hex(bg)} = ${r.toFixed(2)}:1, needs ${need}:1`);
  }
}

for (const el of document.querySelectorAll('input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea')) {
  if (hidden(el)) continue;
  const cs = getComputedStyle(el);
  const outside = bgOf(el.parentElement);
  const fill = over(parse(cs.backgroundColor) || [0, 0, 0, 0], outside);
  const border = parse(cs.borderTopColor);
  const width = parseFloat(cs.borderTopWidth);
  // The border against what is around the control and against its own fill.
  const edge = border && width > 0 ? Math.min(ratio(over(border, outside), outside), ratio(over(border, outside), fill)) : 0;
  if (edge < 3) {
    report(`control ${selector(el)}: border ${border && width > 0 ? hex(border) : 'none'} on ${hex(outside)} around, fill ${hex(fill)} = ${edge.toFixed(2)}:1, needs 3:1`);
  }
  const text = parse(cs.color);
  if (text && ratio(over(text, fill), fill) < 4.5) {
    report(`control text ${selector(el)}: ${hex(text)} on ${hex(fill)} = ${ratio(over(text, fill), fill).toFixed(2)}:1, needs 4.5:1`);
  }
  if (el.getAttribute('placeholder')) {
    const ph = parse(getComputedStyle(el, '::placeholder').color);
    if (ph && ratio(over(ph, fill), fill) < 4.5) {
      report(`placeholder ${selector(el)}: ${hex(over(ph, fill))} on ${hex(fill)} = ${ratio(over(ph, fill), fill).toFixed(2)}:1, needs 4.5:1`);
    }
  }
}
window.scrollTo(0, 0);
return { problems, texts };
