// The orders list: search by id (opens the order), customer and status, a page at a
// time with the API's cursor.
import { explain, get } from './api.js';
import { el, message, money, table } from './dom.js';

const statuses = ['', 'pending', 'confirmed', 'cancelled'];

export function renderOrders(main, route) {
  const p = route.params;
  const id = el('input', { id: 'search-id', name: 'id', size: 38, placeholder: 'an order id (uuid)' });
  const customer = el('input', { id: 'search-customer', name: 'customer_id', value: p.get('customer_id') || '' });
  const status = el('select', { id: 'search-status', name: 'status' },
    statuses.map((s) => el('option', { value: s, selected: s === (p.get('status') || '') }, s || 'any')));
  const form = el('form', { class: 'search', onsubmit: (e) => {
    e.preventDefault();
    if (id.value.trim()) {
      location.hash = `#/orders/${encodeURIComponent(id.value.trim())}`;
      return;
    }
    const q = new URLSearchParams();
    if (customer.value.trim()) q.set('customer_id', customer.value.trim());
    if (status.value) q.set('status', status.value);
    location.hash = `#/orders?${q}`;
  } },
  el('div', {}, el('label', { for: 'search-id' }, 'Order id'), id),
  el('div', {}, el('label', { for: 'search-customer' }, 'Customer'), customer),
  el('div', {}, el('label', { for: 'search-status' }, 'Status'), status),
  el('button', { type: 'submit' }, 'Search'));
  const results = el('section', { 'aria-live': 'polite', 'aria-busy': 'true' });
  main.append(el('h1', {}, 'All orders'), form, results);

  const abort = new AbortController();
  const q = new URLSearchParams({ limit: '20' });
  for (const key of ['customer_id', 'status', 'cursor']) if (p.get(key)) q.set(key, p.get(key));
  get(`/orders?${q}`, abort.signal).then((page) => {
    results.removeAttribute('aria-busy');
    if (page.items.length === 0) {
      results.append(message('info', 'No orders match.'));
      return;
    }
    const rows = page.items.map((o) => ({ ...o,
      link: el('a', { href: `#/orders/${encodeURIComponent(o.id)}`, class: 'id' }, o.id),
      total: money(o.total_cents, o.currency) }));
    results.append(table(`Orders, newest first${p.get('cursor') ? ' (a later page)' : ''}`,
      [['link', 'Order'], ['customer_id', 'Customer'], ['status', 'Status'], ['total', 'Total'],
        ['line_count', 'Lines'], ['version', 'Version'], ['placed_at', 'Placed at']], rows));
    const nav = el('p', { class: 'pager' });
    const base = new URLSearchParams(q);
    base.delete('limit');
    base.delete('cursor');
    if (p.get('cursor')) nav.append(el('a', { href: `#/orders?${base}` }, 'First page'));
    if (page.next_cursor) {
      base.set('cursor', page.next_cursor);
      nav.append(el('a', { href: `#/orders?${base}`, rel: 'next' }, 'Next page'));
    }
    results.append(nav);
  }).catch((err) => {
    if (abort.signal.aborted) return;
    results.removeAttribute('aria-busy');
    results.append(message('error', explain(err, 'list orders')));
  });
  return () => abort.abort();
}
