package order_test

import (
	"net/mail"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/example/orders/domain/kit"
	"github.com/example/orders/domain/order"
)

func ada() order.Contact {
	return order.Contact{Name: "Ada Lovelace", Email: "ada@example.com",
		Address: order.Address{Line1: "12 St James's Square", PostalCode: "SW1Y 4JH", City: "London", Country: "GB"}}
}

func TestDecidePlaceOrderWithContact(t *testing.T) {
	with := func(modify func(*order.Contact)) order.PlaceOrder {
		c := ada()
		modify(&c)
		return placeWith(func(p *order.PlaceOrder) { p.Contact = &c })
	}
	ok := func(name string, c order.PlaceOrder) spec {
		placed := placedFrom(c).(order.OrderPlaced)
		placed.Contact = kit.Clear(c.CustomerID, *c.Contact)
		return spec{name: name, given: neverPlaced, when: c, then: then(placed)}
	}
	bad := func(name string, c order.PlaceOrder, fields ...string) spec {
		return spec{name: name, given: neverPlaced, when: c, wantFields: fields}
	}
	runSpecs(t, []spec{
		ok("a contact is carried, as the customer's personal data", with(func(*order.Contact) {})),
		ok("a second address line is kept", with(func(c *order.Contact) { c.Address.Line2 = "Flat 3" })),
		ok("a name of 200 characters is accepted", with(func(c *order.Contact) { c.Name = strings.Repeat("é", 200) })),
		bad("a blank name is refused", with(func(c *order.Contact) { c.Name = " " }), "contact.name"),
		bad("a name of 201 characters is refused", with(func(c *order.Contact) { c.Name = strings.Repeat("a", 201) }), "contact.name"),
		bad("an email without @ is refused", with(func(c *order.Contact) { c.Email = "ada.example.com" }), "contact.email"),
		bad("an email with a display name is refused", with(func(c *order.Contact) { c.Email = "Ada <ada@example.com>" }), "contact.email"),
		bad("an email with spaces around is refused", with(func(c *order.Contact) { c.Email = " ada@example.com" }), "contact.email"),
		bad("an email of 255 characters is refused", with(func(c *order.Contact) { c.Email = strings.Repeat("a", 243) + "@example.com" }), "contact.email"),
		bad("a blank first line is refused", with(func(c *order.Contact) { c.Address.Line1 = "" }), "contact.address.line1"),
		bad("a second line with a control character is refused", with(func(c *order.Contact) { c.Address.Line2 = "a\x00" }), "contact.address.line2"),
		bad("a missing postal code is refused", with(func(c *order.Contact) { c.Address.PostalCode = "" }), "contact.address.postal_code"),
		bad("a missing city is refused", with(func(c *order.Contact) { c.Address.City = "" }), "contact.address.city"),
		bad("a country in lower case is refused", with(func(c *order.Contact) { c.Address.Country = "gb" }), "contact.address.country"),
		bad("an unassigned country code is refused", with(func(c *order.Contact) { c.Address.Country = "UK" }), "contact.address.country"),
		bad("a three-letter country code is refused", with(func(c *order.Contact) { c.Address.Country = "GBR" }), "contact.address.country"),
		bad("every bad field is named, after the order's own",
			placeWith(func(p *order.PlaceOrder) {
				p.Currency = "eur"
				p.Contact = &order.Contact{Email: "x", Address: order.Address{Country: "ZZ"}}
			}),
			"currency", "contact.name", "contact.email", "contact.address.line1", "contact.address.postal_code", "contact.address.city", "contact.address.country"),
	})
}

func TestCountryCodes(t *testing.T) {
	for _, c := range []string{"AD", "FR", "GB", "US", "ZW"} {
		if !order.IsCountryCode(c) {
			t.Errorf("%s is assigned", c)
		}
	}
	for _, c := range []string{"", "A", "UK", "EU", "ZZ", "D ", " A", "AD ", "fr", "DA"} {
		if order.IsCountryCode(c) {
			t.Errorf("%q is not an assigned code", c)
		}
	}
}

func TestEvolveKeepsTheContactAsItCame(t *testing.T) {
	p := kit.Clear("cust-1", ada())
	s := order.Fold(order.Initial(), order.OrderPlaced{OrderID: orderID, CustomerID: "cust-1", Currency: "EUR", Contact: p, PlacedAt: at(0)})
	if got, ok := s.Contact.Value(); !ok || got != ada() || s.Contact.Subject() != "cust-1" {
		t.Fatalf("state contact: %+v", s.Contact)
	}
}

// An email is accepted exactly when net/mail reads it as an address and nothing else,
// of at most 254 bytes: the dot-atom addresses validateContact recognises without
// net/mail included, and the strings around them (dots doubled or at an end, other
// characters, several @, quoted local parts, domain literals, lengths at the limit).
func TestEmailsAreWhatNetMailReads(t *testing.T) {
	atext := []string{"a", "Z9", "x_y", "!#$%&'*+-/=?^`{|}~", ".", "a.b"}
	other := append([]string{" ", `"`, "[1]", "é", "<", "(c)", `\`, "@"}, atext...)
	part := rapid.Custom(func(t *rapid.T) string {
		pieces := atext // mostly what validateContact recognises itself, and dots out of place
		if rapid.IntRange(0, 4).Draw(t, "source") == 4 {
			pieces = other
		}
		return strings.Join(rapid.SliceOfN(rapid.SampledFrom(pieces), 1, 4).Draw(t, "pieces"), "")
	})
	rapid.Check(t, func(t *rapid.T) {
		email := part.Draw(t, "local") + rapid.SampledFrom([]string{"@", "", "@@", " @"}).Draw(t, "at") + part.Draw(t, "domain")
		if rapid.Bool().Draw(t, "long") {
			email = strings.Repeat("a", rapid.IntRange(240, 256).Draw(t, "pad")-len(email)) + email
		}
		a, err := mail.ParseAddress(email)
		want := err == nil && a.Address == email && a.Name == "" && len(email) <= order.MaxEmailLength
		c := ada()
		c.Email = email
		_, derr := order.Decide(order.State{}, placeWith(func(p *order.PlaceOrder) { p.Contact = &c }))
		if got := derr == nil; got != want {
			t.Fatalf("email %q: accepted %v (%v), net/mail %v", email, got, derr, want)
		}
	})
}
