// One order: its state (now, or at a version or instant: the API's time-travel reads),
// its event timeline, and the streams that followed from it. While the page is open
// it polls the history, so new events appear in the timeline as they are recorded.
import { explain, get, getAll } from './api.js';
import { el, message } from './dom.js';
import { Causes, eventItem, state } from './timeline.js';
import { followShipment } from './shipment.js'; // example: shipment

const pollEvery = 2000;

export function renderOrder(main, route, id) {
  const version = route.params.get('version');
  const at = route.params.get('at');
  const path = `/orders/${encodeURIComponent(id)}`;
  const href = `#${path}`;
  const abort = new AbortController();
  const causes = new Causes();
  const notice = el('div', { 'aria-live': 'polite' });
  const stateSection = el('section', { 'aria-labelledby': 'state-heading' });
  const travel = el('section', { 'aria-labelledby': 'travel-heading' });
  const events = el('ol', { class: 'timeline', id: 'order-timeline', 'aria-live': 'polite' });
  main.append(el('h1', {}, 'Order ', el('span', { class: 'id' }, id)), notice, stateSection, travel,
    el('section', { 'aria-labelledby': 'timeline-heading' }, el('h2', { id: 'timeline-heading' }, 'Timeline'), events));
  const related = [];
  related.push(followShipment(main, id, causes, abort.signal)); // example: shipment

  let last = 0; // the highest version in the timeline
  let timer = null;

  async function showState() {
    const query = version ? `?version=${encodeURIComponent(version)}` : at ? `?at=${encodeURIComponent(at)}` : '';
    const [now, shown] = await Promise.all([get(path, abort.signal), query ? get(path + query, abort.signal) : null]);
    const order = shown || now;
    const heading = el('h2', { id: 'state-heading' }, shown ? `State at version ${order.version}` : 'State now');
    const asOf = shown ? el('p', { class: 'asof' }, `As it was ${version ? `right after version ${version}` : `at ${at}`}; it is at version ${now.version} now. `,
      el('a', { href }, 'Show the state now')) : null;
    stateSection.replaceChildren(heading, asOf || '', ...state(order));
    stateSection.dataset.version = order.version;
    renderTravel(now.version);
  }

  function renderTravel(latest) {
    const v = el('input', { id: 'travel-version', name: 'version', type: 'number', min: 1, max: latest, value: version || '' });
    const t = el('input', { id: 'travel-at', name: 'at', type: 'text', size: 32, placeholder: '2025-01-15T10:31:00Z', value: at || '' });
    travel.replaceChildren(el('h2', { id: 'travel-heading' }, 'Step back in time'),
      el('form', { class: 'travel', onsubmit: (e) => {
        e.preventDefault();
        if (v.value) location.hash = `${href}?version=${encodeURIComponent(v.value)}`;
        else if (t.value.trim()) location.hash = `${href}?at=${encodeURIComponent(t.value.trim())}`;
        else location.hash = href;
      } },
      el('div', {}, el('label', { for: 'travel-version' }, `Version (1 to ${latest})`), v),
      el('div', {}, el('label', { for: 'travel-at' }, 'or instant (RFC 3339)'), t),
      el('button', { type: 'submit' }, 'Show that state')));
  }

  async function pollEvents() {
    const first = last === 0;
    const fresh = first ? await getAll(`${path}/events`, abort.signal)
      : (await get(`${path}/events?after=${last}&limit=1000`, abort.signal)).items;
    for (const e of fresh) {
      const item = eventItem(e, causes, 'order', `${href}?version=${e.version}`);
      if (!first) item.classList.add('new');
      events.append(item);
      last = Math.max(last, e.version);
    }
    return fresh.length > 0;
  }

  async function tick(first) {
    try {
      const moved = await pollEvents();
      if (first || (moved && !version && !at)) await showState();
      for (const r of related) await r.refresh();
      causes.link(main);
      notice.replaceChildren();
      timer = setTimeout(() => tick(false), pollEvery);
    } catch (err) {
      if (abort.signal.aborted) return;
      const text = err.status === 404 && (version || at)
        ? 'Not found: the order has no state at that version or instant, or this token may not see it.'
        : explain(err, 'see this order');
      notice.replaceChildren(message('error', text));
      const refused = err.status >= 400 && err.status < 500;
      if (refused && last === 0) for (const section of main.querySelectorAll('section')) section.remove(); // nothing to show
      if (!refused) timer = setTimeout(() => tick(first), pollEvery * 2);
    }
  }
  tick(true);
  return () => {
    abort.abort();
    clearTimeout(timer);
  };
}
