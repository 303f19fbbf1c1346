// The focus-ring audit of tests/it/browser_pages.rs (WCAG 2.2 1.4.11 and 2.4.7): after a real
// Tab key press (so the browser treats focus as keyboard focus), every kind of focusable element
// is focused in turn (one per element kind and surrounding background, to stay fast); it must
// match :focus-visible, draw an outline at least 2px wide, and that outline's colour must be at
// least 3:1 against the background around the element (the ring sits outside it, offset).
// (The colour helpers — parse, over, lum, ratio, hex, bgOf, selector — come first: browser_colour.js.)
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
