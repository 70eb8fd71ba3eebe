package eventcodec

import (
	"encoding/json"
	"fmt"

	"github.com/example/orders/domain/order"
)

// NewOrderRegistry knows every order event, its stored name and its schema version.
// Stored names are fixed strings, not Go type names, so that renaming a type in the
// code does not orphan the events already stored.
func NewOrderRegistry() *Registry[order.Event] {
	r := New[order.Event]()
	Register[order.OrderPlaced](r, "OrderPlaced", 2)
	Register[order.OrderLineAdded](r, "OrderLineAdded", 1)
	Register[order.OrderConfirmed](r, "OrderConfirmed", 1)
	Register[order.OrderCancelled](r, "OrderCancelled", 1)
	r.RegisterUpcaster("OrderPlaced", 1, orderPlacedV1ToV2)
	return MustCheck(r)
}

// orderPlacedV1ToV2: version 1 of OrderPlaced had no currency, because the first
// release sold in euros only. Version 2 records it; old orders were all EUR.
func orderPlacedV1ToV2(payload json.RawMessage) (json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(payload, &fields); err != nil {
		return nil, fmt.Errorf("OrderPlaced v1 is not a JSON object: %w", err)
	}
	if fields == nil {
		return nil, fmt.Errorf("OrderPlaced v1 payload is null")
	}
	if _, ok := fields["currency"]; !ok {
		fields["currency"] = json.RawMessage(`"EUR"`)
	}
	return json.Marshal(fields)
}
