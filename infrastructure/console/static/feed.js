// The live feed: GET /events/stream, Server-Sent Events read with fetch, because
// EventSource cannot send an Authorization header (and the token must not go in the
// URL). After a disconnect (the server's lifetime limit, a restart, the network) it
// reconnects with Last-Event-ID, the last id received, so no event is lost or repeated.
import { ApiError, apiError, explain, headers } from './api.js';
import { el, message } from './dom.js';

const keep = 200; // events shown; older ones leave the page
const retryAfter = 2000;

export function renderFeed(main, route) {
  const p = route.params;
  const types = el('input', { id: 'feed-types', name: 'types', size: 40, value: p.get('types') || '', placeholder: 'OrderPlaced,OrderConfirmed' });
  const streamType = el('input', { id: 'feed-stream-type', name: 'stream_type', value: p.get('stream_type') || '', placeholder: 'order' });
  const after = el('input', { id: 'feed-after', name: 'after', type: 'number', min: 0, value: p.get('after') || '0' });
  const form = el('form', { class: 'search', onsubmit: (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    if (types.value.trim()) q.set('types', types.value.replaceAll(' ', ''));
    if (streamType.value.trim()) q.set('stream_type', streamType.value.trim());
    q.set('after', after.value || '0');
    location.hash = `#/feed?${q}`;
  } },
  el('div', {}, el('label', { for: 'feed-types' }, 'Event types (comma-separated)'), types),
  el('div', {}, el('label', { for: 'feed-stream-type' }, 'Stream type'), streamType),
  el('div', {}, el('label', { for: 'feed-after' }, 'After position'), after),
  el('button', { type: 'submit' }, 'Follow'));
  const status = el('p', { class: 'status', id: 'feed-status', role: 'status' }, 'Connecting…');
  const list = el('ol', { class: 'timeline feed', id: 'feed-events', reversed: true });
  main.append(el('h1', {}, 'Live feed'), form, status, list);

  const query = new URLSearchParams();
  for (const key of ['types', 'stream_type', 'after']) if (p.get(key)) query.set(key, p.get(key));
  const abort = new AbortController();
  follow(query, abort.signal, {
    event(e) {
      list.prepend(feedItem(e));
      while (list.children.length > keep) list.lastElementChild.remove();
    },
    status(text) {
      status.textContent = text;
    },
    failed(err) {
      status.replaceChildren(message('error', explain(err, 'read the event feed (it needs staff or the events:read scope)')));
    },
  });
  return () => abort.abort();
}

function feedItem(e) {
  const md = e.metadata || {};
  const stream = e.stream_type === 'order'
    ? el('a', { href: `#/orders/${encodeURIComponent(e.stream_id)}` }, `${e.stream_type} ${e.stream_id}`)
    : `${e.stream_type} ${e.stream_id}`;
  return el('li', { class: 'event', 'data-position': e.position, 'data-type': e.type },
    el('h3', {}, el('span', { class: 'type' }, e.type), ` #${e.position}`, el('span', { class: 'when' }, ` at ${e.recorded_at}`)),
    el('p', {}, stream, ` v${e.version}, by ${md.actor || md.issued_by || '–'}`),
    el('details', {}, el('summary', {}, 'Payload and metadata'), el('pre', {}, JSON.stringify({ data: e.data, metadata: md }, null, 2))));
}

// follow reads the stream until signal aborts, reconnecting after the last id it
// received; a refusal (4xx but 429) ends it.
async function follow(query, signal, on) {
  let lastId = '';
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      const extra = { Accept: 'text/event-stream' };
      if (lastId) extra['Last-Event-ID'] = lastId;
      const res = await fetch(`/events/stream?${query}`, { headers: headers(extra), signal, cache: 'no-store' });
      if (!res.ok) throw await apiError(res);
      on.status(attempt === 0 ? 'Connected: new events appear at the top.' : `Reconnected after position ${lastId || 0}.`);
      await readEvents(res.body, (msg) => {
        if (msg.id) lastId = msg.id;
        if (msg.data) on.event(JSON.parse(msg.data));
      });
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429) {
        on.failed(err);
        return;
      }
    }
    if (signal.aborted) return;
    on.status(`Disconnected; reconnecting after position ${lastId || 0}…`);
    await new Promise((resolve) => setTimeout(resolve, retryAfter));
  }
}

// readEvents parses a text/event-stream body (the SSE format: field lines, a blank
// line ends a message, ":" lines are comments) and calls onMessage with {id, event,
// data} for each message.
async function readEvents(body, onMessage) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let msg = { id: '', event: '', data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, end).replace(/\r$/, '');
      buffer = buffer.slice(end + 1);
      if (line === '') {
        if (msg.id || msg.data.length) onMessage({ id: msg.id, event: msg.event, data: msg.data.join('\n') });
        msg = { id: '', event: '', data: [] };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') msg.id = val;
      else if (field === 'event') msg.event = val;
      else if (field === 'data') msg.data.push(val);
    }
  }
}
