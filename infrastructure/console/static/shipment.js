// The shipment that followed an order (the example's fulfilment creates one for each
// confirmed order): its state and its own timeline, whose first event links to the
// order event that caused it. make remove-example deletes this file with the example.
import { explain, get, getAll } from './api.js';
import { el, message } from './dom.js';
import { eventItem, state } from './timeline.js';

export function followShipment(main, orderId, causes, signal) {
  const body = el('div', { 'aria-live': 'polite' }, message('info', 'Looking for its shipment…'));
  const events = el('ol', { class: 'timeline', id: 'shipment-timeline' });
  main.append(el('section', { 'aria-labelledby': 'shipment-heading' }, el('h2', { id: 'shipment-heading' }, 'Shipment'), body, events));
  let shown = 0; // the shipment's version on the page

  async function refresh() {
    let page;
    try {
      page = await get(`/shipments?order_id=${encodeURIComponent(orderId)}`, signal);
    } catch (err) {
      body.replaceChildren(message('error', explain(err, 'see shipments')));
      return;
    }
    const shipment = page.items[0];
    if (!shipment) {
      body.replaceChildren(message('info', 'No shipment yet: one is created when the order is confirmed.'));
      return;
    }
    if (shipment.version === shown) return;
    const path = `/shipments/${encodeURIComponent(shipment.id)}`;
    const history = await getAll(`${path}/events`, signal);
    body.replaceChildren(...state(shipment));
    events.replaceChildren(...history.map((e) => eventItem(e, causes, 'shipment')));
    shown = shipment.version;
  }
  return { refresh };
}
