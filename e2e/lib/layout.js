// Layout as a person sees it: whether a page scrolls sideways, whether anything sticks out
// of the box it sits in, and where things are on the screen.

/**
 * Measures the page in `page` as it is now: `{ view, width, escapes }`. `view` is the
 * viewport's width, `width` the document's (wider = the page scrolls sideways). `escapes`
 * lists every visible element inside <main> that reaches outside its container, sideways
 * (by more than half a pixel): the container is the nearest card, the nearest box that
 * scrolls or clips its content, or <main> itself, and every card and such box is itself held
 * to its own container. What a box scrolls (a wide table in its .table-wrap on a phone) may
 * reach past it; with `innerScroll: false` no box may scroll sideways (`escapes` lists it):
 * the page is wide enough for all of it.
 */
export function measureLayout(page, { innerScroll = true } = {}) {
  return page.evaluate(({ innerScroll }) => {
    const main = document.querySelector("main");
    const clips = (node) => {
      const { overflowX } = getComputedStyle(node);
      return overflowX === "auto" || overflowX === "scroll" || overflowX === "hidden" || overflowX === "clip";
    };
    const scrolls = (node) => ["auto", "scroll"].includes(getComputedStyle(node).overflowX);
    const isContainer = (node) => node === main || node.classList?.contains("card") || clips(node);
    const name = (node) => {
      const id = node.id ? `#${node.id}` : "";
      const cls = typeof node.className === "string" && node.className ? `.${node.className.trim().split(/\s+/).join(".")}` : "";
      return `${node.tagName.toLowerCase()}${id}${cls}`;
    };
    const fixed = (node) => {
      for (let n = node; n && n !== main; n = n.parentElement) {
        if (getComputedStyle(n).position === "fixed") return true;
      }
      return false;
    };
    const escapes = [];
    for (const node of main.querySelectorAll("*")) {
      const rect = node.getBoundingClientRect();
      if (rect.width === 0 || rect.height === 0 || fixed(node)) continue;
      // Screen-reader-only text is clipped to a pixel on purpose.
      if (node.closest(".sr-only")) continue;
      let box = node.parentElement;
      while (!isContainer(box)) box = box.parentElement;
      // What scrolls inside a scrolling box is checked as the box's scrolling (below).
      if (box !== main && scrolls(box)) continue;
      const outer = box.getBoundingClientRect();
      const left = outer.left - rect.left;
      const right = rect.right - outer.right;
      if (left > 0.5 || right > 0.5) {
        escapes.push(`${name(node)} reaches ${Math.round(Math.max(left, right))} px outside ${name(box)} (${Math.round(rect.left)}-${Math.round(rect.right)} in ${Math.round(outer.left)}-${Math.round(outer.right)})`);
      }
      if (!innerScroll && scrolls(node) && node.scrollWidth > node.clientWidth + 1) {
        escapes.push(`${name(node)} scrolls sideways (${node.scrollWidth} px in ${node.clientWidth})`);
      }
    }
    const mainRect = main.getBoundingClientRect();
    if (mainRect.right > document.documentElement.clientWidth + 0.5) escapes.push(`main ends at ${mainRect.right} px`);
    return {
      view: document.documentElement.clientWidth,
      width: document.documentElement.scrollWidth,
      escapes,
    };
  }, { innerScroll });
}

/** The viewport rectangle of the element `selector` (`{ top, bottom, left, right }`), or null. */
export function rectOf(page, selector) {
  return page.evaluate((selector) => {
    const node = document.querySelector(selector);
    if (!node || node.getClientRects().length === 0) return null;
    const { top, bottom, left, right } = node.getBoundingClientRect();
    return { top, bottom, left, right };
  }, selector);
}

/** Whether two rectangles share any area. */
export function overlaps(a, b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}
