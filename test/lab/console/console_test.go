package console

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/uuid"

	"github.com/example/orders/test/testsupport"
)

// TestStaffFollowsAnOrder: a staff token finds an order by its customer, opens it
// with the keyboard, sees its timeline with actors and ids, steps back to version 2
// (and to the instant of version 2) and sees the state then, and sees an event placed
// through the API appear, while the pages are open, in the order's timeline and in the
// live feed; then the consumers.
func TestStaffFollowsAnOrder(t *testing.T) {
	ctx := browser(t)
	base := startService(t, nil)
	staff := testsupport.StaffToken()
	customer := "carol-" + uuid.NewString()[:8]
	order := must(t, http.StatusCreated, http.MethodPost, base+"/orders", staff, `{"customer_id":"`+customer+`","currency":"EUR"}`)
	id, _ := order["id"].(string)
	must(t, http.StatusOK, http.MethodPost, base+"/orders/"+id+"/lines", staff, `{"sku":"book-42","quantity":2,"unit_price_cents":1250}`)
	must(t, http.StatusOK, http.MethodPost, base+"/orders/"+id+"/lines", staff, `{"sku":"pen-7","quantity":1,"unit_price_cents":300}`)

	p := openTab(t, ctx, base, staff)
	p.do("search by customer", chromedp.SetValue(chromedp.ID("search-customer"), customer), chromedp.Focus(chromedp.ID("search-customer")), chromedp.KeyEvent(kb.Enter))
	link := `a[href="#/orders/` + id + `"]`
	p.wait("the order in the list", `document.querySelector(`+js(link)+`) !== null`)
	p.do("open it with the keyboard", chromedp.Focus(chromedp.CSS(link)), chromedp.KeyEvent(kb.Enter))
	p.wait("its timeline", `document.querySelectorAll('#order-timeline li').length === 3`)
	p.wait("its state", `document.querySelector('[data-field="version"]')?.textContent === '3'`)
	if got := p.text(`#order-timeline li[data-version="1"]`); !strings.Contains(got, "OrderPlaced") || !strings.Contains(got, "harness-staff") {
		t.Errorf("first event %q, want OrderPlaced by harness-staff", got)
	}

	p.do("step back to version 2", chromedp.SetValue(chromedp.ID("travel-version"), "2"), chromedp.Focus(chromedp.ID("travel-version")), chromedp.KeyEvent(kb.Enter))
	p.wait("the state at version 2", `document.querySelector('section[data-version="2"]') !== null`)
	if got := p.text(`[data-field="line_count"]`); got != "1" {
		t.Errorf("line count at version 2: %q, want 1", got)
	}
	if got := p.text(`[data-field="status"]`); got != "pending" {
		t.Errorf("status at version 2: %q, want pending", got)
	}
	if got := p.text(`table[data-field="lines"] tbody`); strings.Contains(got, "pen-7") || !strings.Contains(got, "book-42") {
		t.Errorf("lines at version 2: %q, want book-42 only", got)
	}
	p.shot("order-at-version-2", false)
	events := must(t, http.StatusOK, http.MethodGet, base+"/orders/"+id+"/events", staff, "")
	items, _ := events["items"].([]any)
	second, _ := items[1].(map[string]any)
	at, _ := second["recorded_at"].(string)
	p.do("step to the instant of version 2", chromedp.SetValue(chromedp.ID("travel-version"), ""), chromedp.SetValue(chromedp.ID("travel-at"), at),
		chromedp.Focus(chromedp.ID("travel-at")), chromedp.KeyEvent(kb.Enter))
	p.wait("the state at that instant", `location.hash.includes('at=') && document.querySelector('section[data-version="2"]') !== null`)
	p.do("back to now", chromedp.Click(chromedp.CSS(`p.asof a`)))
	p.wait("the state now", `document.querySelector('section[data-version="3"]') !== null`)

	feed := openTab(t, ctx, base, staff)
	feed.do("open the live feed", chromedp.Navigate(base+"/console#/feed?stream_type=order"))
	feed.wait("the order's events in the feed", `document.querySelectorAll('#feed-events li[data-type="OrderLineAdded"]').length >= 2`)

	must(t, http.StatusOK, http.MethodPost, base+"/orders/"+id+"/confirm", staff, "")
	p.wait("the new event in the timeline", `document.querySelector('#order-timeline li.new[data-type="OrderConfirmed"]') !== null`)
	p.wait("the state it leads to", `document.querySelector('[data-field="status"]')?.textContent === 'confirmed'`)
	feed.wait("the new event in the feed", `document.querySelector('#feed-events li[data-type="OrderConfirmed"]') !== null`)
	if got := feed.text(`#feed-events li[data-type="OrderConfirmed"]`); !strings.Contains(got, id) {
		t.Errorf("feed's OrderConfirmed %q, want order %s", got, id)
	}
	feed.shot("feed", false)
	checkShipment(p) // example: shipment
	p.shot("order", true)

	p.do("open the consumers", chromedp.Click(chromedp.CSS(`nav a[href="#/consumers"]`)))
	p.wait("the consumers' table", `document.querySelector('#consumers table')?.textContent.includes('customer_summary')`)
	if got := p.text(`#consumers tbody`); !strings.Contains(got, "running") {
		t.Errorf("consumers %q, want them running", got)
	}
	p.shot("consumers", false)
}

// TestCustomerSeesOnlyItsOwn: a customer token lists its own orders, a page at a time
// with the API's cursor, and no one else's; opens another customer's order and is told
// it is not found, exactly as the API answers; and the consumers' page says the token
// may not see them.
func TestCustomerSeesOnlyItsOwn(t *testing.T) {
	ctx := browser(t)
	base := startService(t, nil)
	staff := testsupport.StaffToken()
	other := must(t, http.StatusCreated, http.MethodPost, base+"/orders", staff, `{"customer_id":"erin","currency":"EUR"}`)
	otherID, _ := other["id"].(string)
	dave := testsupport.Token("dave", "")
	own := must(t, http.StatusCreated, http.MethodPost, base+"/orders", dave, `{"currency":"USD"}`)
	ownID, _ := own["id"].(string)
	for range 20 { // one more than a page
		must(t, http.StatusCreated, http.MethodPost, base+"/orders", dave, `{"currency":"USD"}`)
	}

	p := openTab(t, ctx, base, dave)
	p.wait("a page of its orders", `document.querySelectorAll('section tbody tr').length === 20`)
	p.do("the next page", chromedp.Click(chromedp.CSS(`a[rel="next"]`)))
	p.wait("its oldest order on the next page", `document.querySelector('a[href="#/orders/`+ownID+`"]') !== null`)
	if n, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](`document.querySelectorAll('section tbody tr').length`)); err != nil || n != 1 {
		t.Errorf("the next page has %d orders (%v), want 1", n, err)
	}
	if got := p.text(`section table`); strings.Contains(got, otherID) || strings.Contains(got, "erin") {
		t.Errorf("a customer's list shows another customer's order: %q", got)
	}

	p.do("open another customer's order", chromedp.SetValue(chromedp.ID("search-id"), otherID), chromedp.Focus(chromedp.ID("search-id")), chromedp.KeyEvent(kb.Enter))
	p.wait("the answer", `document.querySelector('.message.error') !== null`)
	if got := p.text(`.message.error`); !strings.HasPrefix(got, "Not found") {
		t.Errorf("another customer's order: %q, want not found", got)
	}
	if got := p.text(`main`); strings.Contains(got, "erin") || strings.Contains(got, "OrderPlaced") {
		t.Errorf("the page shows another customer's data: %q", got)
	}
	p.shot("customer-not-found", false)

	p.do("open the consumers", chromedp.Click(chromedp.CSS(`nav a[href="#/consumers"]`)))
	p.wait("the answer", `(document.querySelector('.message.error') || {}).innerText?.includes('consumers')`)
	if got := p.text(`.message.error`); !strings.Contains(got, "This token may not see the consumers") {
		t.Errorf("consumers for a customer: %q", got)
	}
	p.shot("customer-consumers", false)
}

// TestFeedResumesAfterDisconnect: the server ends every stream after a second
// (SSE_MAX_LIFETIME); the live feed reconnects after the last id it received
// (Last-Event-ID), so every event shows once, in order, also those placed between
// reconnections.
func TestFeedResumesAfterDisconnect(t *testing.T) {
	ctx := browser(t)
	base := startService(t, map[string]string{"SSE_MAX_LIFETIME": "1s"})
	staff := testsupport.StaffToken()
	order := must(t, http.StatusCreated, http.MethodPost, base+"/orders", staff, `{"customer_id":"frank","currency":"EUR"}`)
	id, _ := order["id"].(string)

	p := openTab(t, ctx, base, staff)
	p.do("open the live feed", chromedp.Click(chromedp.CSS(`nav a[href="#/feed"]`)))
	p.wait("the first event", `document.querySelector('#feed-events li[data-type="OrderPlaced"]') !== null`)
	p.wait("a reconnection", `document.getElementById('feed-status').textContent.startsWith('Reconnected')`)
	must(t, http.StatusOK, http.MethodPost, base+"/orders/"+id+"/lines", staff, `{"sku":"a","quantity":1,"unit_price_cents":100}`)
	p.wait("the event placed after it", `document.querySelector('#feed-events li[data-type="OrderLineAdded"]') !== null`)
	p.wait("another reconnection", `document.getElementById('feed-status').textContent.startsWith('Disconnected')`)
	p.wait("the stream back", `document.getElementById('feed-status').textContent.startsWith('Reconnected')`)
	must(t, http.StatusOK, http.MethodPost, base+"/orders/"+id+"/confirm", staff, "")
	p.wait("the last event", `document.querySelector('#feed-events li[data-type="OrderConfirmed"]') !== null`)

	positions, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('#feed-events li')].map((li) => li.dataset.position)`))
	if err != nil {
		t.Fatal(err)
	}
	// The feed shows the newest first: placed 1, line 2, confirmed 3 and, when it is
	// there yet, 4, a reactor's reaction to the confirmation.
	if got := strings.Join(positions, ","); got != "4,3,2,1" && got != "3,2,1" {
		t.Errorf("positions shown %s, want each event once, newest first", got)
	}
	p.shot("feed-resumed", false)
}
