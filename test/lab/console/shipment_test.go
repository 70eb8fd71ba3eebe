package console

import "github.com/chromedp/chromedp"

// checkShipment: the order page shows the shipment the fulfilment reactor created for
// the confirmed order, with its own timeline, whose first event links to the order
// event that caused it; following the link focuses that event.
func checkShipment(p *tab) {
	p.t.Helper()
	p.wait("the shipment's timeline", `document.querySelector('#shipment-timeline li[data-type="ShipmentCreated"] dd[data-causation] button') !== null`)
	p.do("follow its cause", chromedp.Click(chromedp.CSS(`#shipment-timeline li[data-type="ShipmentCreated"] dd[data-causation] button`)))
	p.wait("the cause focused", `document.activeElement?.dataset.type === 'OrderConfirmed'`)
}
