package httpapi

import (
	"context"

	"github.com/example/orders/api"
	"github.com/example/orders/domain/kit"
	"github.com/example/orders/domain/order"
)

// ErasePersonalData deletes the customer's data key (crypto-shredding).
func (h *Handlers) ErasePersonalData(ctx context.Context, r api.ErasePersonalDataRequestObject) (api.ErasePersonalDataResponseObject, error) {
	if err := h.app.PersonalData.Erase(ctx, r.Id); err != nil {
		return nil, err
	}
	return api.ErasePersonalData204Response{}, nil
}

func fromAPIContact(c *api.Contact) *order.Contact {
	if c == nil {
		return nil
	}
	out := order.Contact{Name: c.Name, Email: c.Email, Address: fromAPIAddress(c.Address)}
	return &out
}

func fromAPIAddress(a api.Address) order.Address {
	out := order.Address{Line1: a.Line1, PostalCode: a.PostalCode, City: a.City, Country: a.Country}
	if a.Line2 != nil {
		out.Line2 = *a.Line2
	}
	return out
}

func toAPIAddress(a order.Address) *api.Address {
	out := api.Address{Line1: a.Line1, PostalCode: a.PostalCode, City: a.City, Country: a.Country}
	if a.Line2 != "" {
		out.Line2 = &a.Line2
	}
	return &out
}

// toAPIContact shows an opened contact, or {"erased": true}. The stores open every
// state they answer with; a value still sealed here shows as erased, never as
// ciphertext.
func toAPIContact(p kit.Personal[order.Contact]) *api.ContactOnRecord {
	if !p.IsSet() {
		return nil
	}
	c, ok := p.Value()
	if !ok {
		return &api.ContactOnRecord{Erased: true}
	}
	return &api.ContactOnRecord{Name: &c.Name, Email: &c.Email, Address: toAPIAddress(c.Address)}
}
