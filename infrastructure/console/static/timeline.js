// Event timelines and the links between events that caused one another: an event's
// causation id is the id of the event that caused it (a process manager's reaction)
// or of the HTTP request that issued its command. Every timeline on a page shares one
// Causes, so that an event of another stream links to the order event that caused it,
// and back.
import { append, el, table } from './dom.js';

export class Causes {
  constructor() {
    this.byId = new Map(); // event id -> {event, label, node}
  }

  // link fills in, under root, every event's "caused by" and "caused" with buttons to
  // the events known now; call it again when more events arrive.
  link(root) {
    const caused = new Map();
    for (const { event, label } of this.byId.values()) {
      const cause = event.metadata && event.metadata.causation_id;
      if (cause && this.byId.has(cause)) caused.set(cause, [...(caused.get(cause) || []), { id: event.event_id, label }]);
    }
    for (const dd of root.querySelectorAll('dd[data-causation]')) {
      const target = this.byId.get(dd.dataset.causation);
      if (target) dd.replaceChildren(this.button(target.event.event_id, target.label), ` (${dd.dataset.causation})`);
    }
    for (const dd of root.querySelectorAll('dd[data-caused]')) {
      const effects = caused.get(dd.dataset.caused) || [];
      dd.replaceChildren(...effects.map(({ id, label }) => this.button(id, label)));
      dd.previousElementSibling.hidden = dd.hidden = effects.length === 0;
    }
  }

  button(id, label) {
    return el('button', { type: 'button', class: 'link', onclick: () => {
      const target = this.byId.get(id);
      if (!target) return;
      target.node.scrollIntoView({ block: 'center' });
      target.node.focus({ preventScroll: true });
    } }, label);
  }
}

// eventItem renders one event of a stream; stateHref, when given, links to the
// stream's state right after it (a time-travel read).
export function eventItem(event, causes, streamLabel, stateHref) {
  const md = event.metadata || {};
  const label = `${streamLabel} ${event.type} v${event.version}`;
  const node = el('li', { class: 'event', id: `event-${event.event_id}`, tabindex: '-1', 'data-version': event.version, 'data-type': event.type },
    el('h3', {}, el('span', { class: 'type' }, event.type), ` v${event.version}`,
      el('span', { class: 'when' }, ` at ${event.recorded_at}, position ${event.position}`)),
    el('dl', { class: 'fields' },
      el('dt', {}, 'actor'), el('dd', {}, md.actor || md.issued_by || '–'),
      el('dt', {}, 'command'), el('dd', {}, md.command || '–'),
      el('dt', {}, 'correlation id'), el('dd', {}, md.correlation_id || '–'),
      el('dt', {}, 'causation id'), el('dd', { 'data-causation': md.causation_id || null }, md.causation_id || '–'),
      el('dt', { hidden: true }, 'caused'), el('dd', { 'data-caused': event.event_id, hidden: true })),
    stateHref && el('p', {}, el('a', { href: stateHref }, `State after v${event.version}`)),
    el('details', {}, el('summary', {}, 'Payload and metadata'),
      el('pre', {}, JSON.stringify({ data: event.data, metadata: md, event_id: event.event_id, schema_version: event.schema_version }, null, 2))));
  causes.byId.set(event.event_id, { event, label, node });
  return node;
}

// state renders a resource's state: its scalar fields, and each array of objects (an
// order's lines) as a table.
export function state(obj) {
  const out = [];
  const dl = el('dl', { class: 'fields state' });
  const first = ['id', 'status', 'version'].filter((key) => key in obj);
  const keys = [...first, ...Object.keys(obj).filter((key) => !first.includes(key))];
  for (const [key, value] of keys.map((k) => [k, obj[k]])) {
    if (Array.isArray(value)) continue;
    append(dl, [el('dt', {}, key.replaceAll('_', ' ')), el('dd', { 'data-field': key }, show(value))]);
  }
  out.push(dl);
  for (const [key, value] of Object.entries(obj)) {
    if (!Array.isArray(value)) continue;
    const keys = [...new Set(value.flatMap((row) => Object.keys(row)))];
    const caption = key.replaceAll('_', ' ');
    const shown = value.length === 0 ? el('p', {}, `No ${caption}.`) : table(caption, keys.map((k) => [k, k.replaceAll('_', ' ')]), value);
    shown.dataset.field = key;
    out.push(shown);
  }
  return out;
}

function show(value) {
  if (value === undefined || value === null) return '–';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
