package httpapi

import (
	"github.com/example/orders/api"
	"github.com/example/orders/application"
)

func toAPIOrder(v application.OrderView) api.Order {
	lines := make([]api.OrderLine, len(v.State.Lines))
	for i, l := range v.State.Lines {
		lines[i] = api.OrderLine{Sku: l.SKU, Quantity: int32(l.Quantity), UnitPriceCents: l.UnitPriceCents} //nolint:gosec // the domain bounds a quantity by order.MaxQuantity
	}
	return api.Order{
		Id: v.State.ID, CustomerId: v.State.CustomerID, Currency: v.State.Currency, Status: api.OrderStatus(v.State.Status),
		Lines: lines, TotalCents: v.State.TotalCents, LineCount: int64(len(v.State.Lines)), UnitCount: int64(v.State.UnitCount), Version: v.Version,
		PlacedAt: v.State.PlacedAt, UpdatedAt: v.State.UpdatedAt,
	}
}
