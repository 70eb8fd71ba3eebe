// The console's entry: the token form, the navigation and the hash router. Each page
// is a function (main, route) that fills main and may return a function that stops
// what it started (polling, a stream) when the user leaves it.
import { claims, setToken, token } from './api.js';
import { el, message } from './dom.js';
import { renderOrders } from './orders.js';
import { renderOrder } from './order.js';
import { renderFeed } from './feed.js';
import { renderConsumers } from './consumers.js';

const main = document.getElementById('main');
let leave = null;

// route is the hash as a path and its query: #/orders/ID?version=2.
function route() {
  const [path, query = ''] = location.hash.slice(1).split('?');
  return { path, parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query) };
}

function page(r) {
  const [first, second] = r.parts;
  // Routes are compared as paths ('/orders/'), as the API's are: `make rename` keeps
  // those and renames the service's name where it stands alone.
  if (r.path.startsWith('/orders/') && second) return (m) => renderOrder(m, r, second);
  if (first === 'feed') return (m) => renderFeed(m, r);
  if (first === 'consumers') return (m) => renderConsumers(m, r);
  return (m) => renderOrders(m, r);
}

function render() {
  if (leave) leave();
  leave = null;
  main.replaceChildren();
  const signedIn = Boolean(token());
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('logout').hidden = !signedIn;
  const who = document.getElementById('who');
  if (!signedIn) {
    who.textContent = '';
    renderLogin();
    return;
  }
  const c = claims();
  who.textContent = `Token of ${c.sub || '?'}${c.scope ? ` (${c.scope})` : ' (customer)'}`;
  const r = route();
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === (r.parts.length ? `#/${r.parts[0]}` : '#/orders')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  leave = page(r)(main) || null;
}

function renderLogin() {
  const input = el('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const form = el('form', { class: 'login', onsubmit: (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    if (location.hash.startsWith('#/')) render();
    else location.hash = '#/orders';
  } },
  el('h1', {}, 'Paste a bearer token'),
  el('p', {}, 'The console reads everything through the API with this token, and shows only what the API shows it. ' +
    'It is kept in this tab only (sessionStorage) until you forget it or close the tab.'),
  el('label', { for: 'token' }, 'Bearer token (JWT)'), input,
  el('button', { type: 'submit' }, 'Use this token'));
  main.append(form);
  if (location.hash.includes('token=')) main.append(message('error', 'Never put a token in a URL.'));
  input.focus();
}

document.getElementById('logout').addEventListener('click', () => {
  setToken('');
  render();
});
window.addEventListener('hashchange', () => {
  render();
  main.focus({ preventScroll: true });
});
render();
