// DOM helpers. Every piece of text goes in as a text node (textContent), never as
// markup: what the API returns (payloads, customer ids, error messages) is user data.

// el builds an element: attributes (on* are event listeners, false/null/undefined are
// left out) and children (nodes, or anything else as text).
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

// append adds children (nested arrays allowed) to node as el does.
export function append(node, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// message is a notice in the page: kind is "info" or "error".
export function message(kind, text) {
  return el('p', { class: `message ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

// money formats cents in currency, falling back to plain digits for a code the
// browser does not know.
export function money(cents, currency) {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}`;
  }
}

// table shows rows (objects) with the given columns: [key, heading] pairs.
export function table(caption, columns, rows) {
  return el('table', {},
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, columns.map(([, heading]) => el('th', { scope: 'col' }, heading)))),
    el('tbody', {}, rows.map((row) => el('tr', {}, columns.map(([key]) => el('td', {}, cell(row[key])))))));
}

function cell(value) {
  if (value instanceof Node) return value;
  if (value === undefined || value === null) return '–';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
