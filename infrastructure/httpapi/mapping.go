package httpapi

import (
	"encoding/json"
	"fmt"

	"github.com/example/orders/api"
	"github.com/example/orders/application"
)

func toAPIOrder(v application.OrderView) api.Order {
	lines := make([]api.OrderLine, len(v.Lines))
	for i, l := range v.Lines {
		lines[i] = api.OrderLine{Sku: l.SKU, Quantity: int32(l.Quantity), UnitPriceCents: l.UnitPriceCents}
	}
	return api.Order{
		Id: v.ID, CustomerId: v.CustomerID, Currency: v.Currency, Status: api.OrderStatus(v.Status),
		Lines: lines, TotalCents: v.TotalCents, LineCount: int64(v.LineCount), Version: v.Version,
		PlacedAt: v.PlacedAt, UpdatedAt: v.UpdatedAt,
	}
}

func toAPIEvent(e application.RecordedEvent) (api.StoredEvent, error) {
	out := api.StoredEvent{
		EventId: e.EventID, Type: e.Type, SchemaVersion: e.SchemaVersion, Version: e.Version,
		Position: e.Position, RecordedAt: e.RecordedAt.UTC(), Data: map[string]any{}, Metadata: map[string]any{},
	}
	if err := json.Unmarshal(e.Data, &out.Data); err != nil {
		return out, fmt.Errorf("event %s: data: %w", e.EventID, err)
	}
	if len(e.Metadata) > 0 {
		if err := json.Unmarshal(e.Metadata, &out.Metadata); err != nil {
			return out, fmt.Errorf("event %s: metadata: %w", e.EventID, err)
		}
	}
	return out, nil
}
