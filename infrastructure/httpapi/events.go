package httpapi

import (
	"encoding/json"
	"fmt"

	"github.com/example/orders/api"
	"github.com/example/orders/application/appkit"
)

// toAPIEvent is a stored event of any aggregate as the API shows it: the payload and
// metadata as stored, not re-encoded from the current shape.
func toAPIEvent[E any](e appkit.RecordedEvent[E]) (api.StoredEvent, error) {
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

// toAPIEvents is a page of a stream's history as the API shows it.
func toAPIEvents[E any](page appkit.HistoryPage[E]) (api.EventList, error) {
	out := api.EventList{Items: make([]api.StoredEvent, len(page.Items))}
	for i, e := range page.Items {
		var err error
		if out.Items[i], err = toAPIEvent(e); err != nil {
			return out, err
		}
	}
	if page.NextAfter > 0 {
		out.NextAfter = &page.NextAfter
	}
	return out, nil
}
