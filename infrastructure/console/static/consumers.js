// The consumers: each partition's position, lag, owner and state (GET /consumers, what
// `consumers status` prints), refreshed every few seconds while the page is open.
import { explain, get } from './api.js';
import { el, message, table } from './dom.js';

const refreshEvery = 3000;

export function renderConsumers(main) {
  const updated = el('p', { class: 'status', id: 'consumers-updated', role: 'status' }, 'Loading…');
  const body = el('div', { id: 'consumers' });
  main.append(el('h1', {}, 'Consumers'), updated, body);
  const abort = new AbortController();
  let timer = null;

  async function refresh() {
    try {
      const list = await get('/consumers', abort.signal);
      const rows = list.items.map((c) => ({ ...c,
        partition: `${c.partition}/${c.partitions}`,
        lag_seconds: c.lag_seconds.toFixed(3),
        state: el('span', { class: `state ${c.state}` }, c.state === 'stopped' || c.state === 'failing'
          ? `${c.state} at ${c.error_position} (attempt ${c.attempts})` : c.state.replace('_', ' ')) }));
      body.replaceChildren(rows.length === 0 ? message('info', 'No consumer has a checkpoint yet.')
        : table('Consumer partitions', [['name', 'Name'], ['partition', 'Partition'], ['position', 'Position'],
          ['lag_events', 'Lag (events)'], ['lag_seconds', 'Lag (s)'], ['owner', 'Owner'], ['state', 'State'], ['error', 'Error']], rows));
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}; refreshed every ${refreshEvery / 1000} s.`;
      timer = setTimeout(refresh, refreshEvery);
    } catch (err) {
      if (abort.signal.aborted) return;
      updated.replaceChildren(message('error', explain(err, 'see the consumers (staff only)')));
      if (!(err.status >= 400 && err.status < 500)) timer = setTimeout(refresh, refreshEvery);
    }
  }
  refresh();
  return () => {
    abort.abort();
    clearTimeout(timer);
  };
}
