// DOM helpers. User data enters the page only as text nodes.

export const $ = (selector) => document.querySelector(selector);

/**
 * Creates an element. Props set attributes, `dataset` entries, `className`
 * and `on<event>` listeners, and props that are null, undefined or false are
 * skipped. String children become text nodes, so nothing passed here is ever
 * parsed as HTML.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'className') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}
