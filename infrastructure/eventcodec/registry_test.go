package eventcodec_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
)

func TestEveryOrderEventRoundTrips(t *testing.T) {
	r := eventcodec.NewOrderRegistry()
	at := time.Date(2026, 3, 4, 5, 6, 7, 8000, time.UTC)
	checkRoundTrips(t, r, []order.Event{
		order.OrderPlaced{OrderID: uuid.New(), CustomerID: "c-1", Currency: "SEK", PlacedAt: at,
			Contact: kit.Clear("c-1", order.Contact{Name: "Åsa ✓", Email: "asa@example.se", Address: order.Address{Line1: "Gatan 1", Line2: "2 tr", PostalCode: "111 22", City: "Stockholm", Country: "SE"}})},
		order.OrderLineAdded{SKU: "sku-1", Quantity: 3, UnitPriceCents: 1999, AddedAt: at},
		order.OrderConfirmed{ConfirmedAt: at},
		order.OrderCancelled{Reason: "changed my mind ✓", CancelledAt: at},
	})
}

// checkRoundTrips encodes and decodes each of events, one of every type r knows, each
// with every field set: it must come back equal, stored under its type's name.
func checkRoundTrips[E any](t *testing.T, r *eventcodec.Registry[E], events []E) {
	t.Helper()
	var names []string
	for _, e := range events {
		assertEveryFieldSet(t, e)
		name, version, payload, err := r.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		if name != reflect.TypeOf(e).Name() {
			t.Errorf("%T stored as %q, want its type name", e, name)
		}
		back, err := r.Decode(name, version, payload)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Errorf("round trip of %T: got %+v, want %+v", e, back, e)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	if want := slices.Sorted(slices.Values(r.Names())); !slices.Equal(names, want) {
		t.Errorf("round-tripped %v, want one of each registered event %v", names, want)
	}
}

// assertEveryFieldSet fails for a field of the event e left at its zero value: a
// field added to an event must be given a value in the round-trip test, or a codec
// that drops it would pass.
func assertEveryFieldSet(t *testing.T, e any) {
	t.Helper()
	v := reflect.ValueOf(e)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("%T.%s is not set in this round-trip test: set it, so that the round trip covers it", e, v.Type().Field(i).Name)
		}
	}
}

func TestOrderPlacedV1IsUpcastWithEuro(t *testing.T) {
	r := eventcodec.NewOrderRegistry()
	id := uuid.New()
	v1 := `{"order_id":"` + id.String() + `","customer_id":"c-9","placed_at":"2020-01-02T03:04:05Z"}`
	e, err := r.Decode("OrderPlaced", 1, []byte(v1))
	if err != nil {
		t.Fatal(err)
	}
	want := order.OrderPlaced{OrderID: id, CustomerID: "c-9", Currency: "EUR", PlacedAt: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("got %+v, want %+v", e, want)
	}
	if _, version, _, _ := r.Encode(want); version <= 1 {
		t.Fatalf("OrderPlaced is written at version %d, want a version after 1 (the one upcast here)", version)
	}
}

func TestUnknownAndUnreadableEventsFailLoudly(t *testing.T) {
	r := eventcodec.NewOrderRegistry()
	// Versions the code writes now are asked of the registry: a literal would be wrong
	// after the next bump.
	confirmed, _ := r.Version("OrderConfirmed")
	lineAdded, _ := r.Version("OrderLineAdded")
	cases := map[string]struct {
		name    string
		version int
		payload string
		want    string
	}{
		"unknown type":          {"OrderTeleported", 1, `{}`, "unknown event type"},
		"newer schema version":  {"OrderConfirmed", confirmed + 1, `{}`, "newer than this code"},
		"no upcaster":           {"OrderLineAdded", 0, `{}`, "no upcaster"},
		"payload not an object": {"OrderPlaced", 1, `[1]`, "not a JSON object"},
		"v1 payload null":       {"OrderPlaced", 1, `null`, "null"},
		"bad field type":        {"OrderLineAdded", lineAdded, `{"quantity":"many"}`, "decode OrderLineAdded"},
	}
	for name, c := range cases {
		_, err := r.Decode(c.name, c.version, []byte(c.payload))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, c.want)
		}
	}
	type stranger struct{ order.OrderConfirmed }
	if _, _, _, err := r.Encode(stranger{}); !errors.Is(err, eventcodec.ErrUnknownEvent) {
		t.Errorf("encoding an unregistered type: got %v", err)
	}
	if _, err := r.Decode("Nope", 1, []byte(`{}`)); !errors.Is(err, eventcodec.ErrUnknownEvent) {
		t.Errorf("decoding an unregistered name: got %v", err)
	}
}

func TestRegistrationMistakesPanic(t *testing.T) {
	up := func(p json.RawMessage) (json.RawMessage, error) { return p, nil }
	for name, c := range map[string]struct {
		register func()
		want     string
	}{
		"same type twice": {func() {
			r := eventcodec.New[order.Event]()
			eventcodec.Register[order.OrderConfirmed](r, "A", 1)
			eventcodec.Register[order.OrderConfirmed](r, "B", 1)
		}, "registered twice"},
		"same name twice": {func() {
			r := eventcodec.New[order.Event]()
			eventcodec.Register[order.OrderConfirmed](r, "A", 1)
			eventcodec.Register[order.OrderCancelled](r, "A", 1)
		}, `name "A" registered twice`},
		"not an event": {func() {
			r := eventcodec.New[order.Event]()
			eventcodec.Register[struct{}](r, "A", 1)
		}, "does not implement"},
		"version zero": {func() {
			r := eventcodec.New[order.Event]()
			eventcodec.Register[order.OrderConfirmed](r, "A", 0)
		}, "at least 1"},
		// The schema version not bumped with the change the upcaster is for.
		"upcaster from the current version": {func() {
			r := eventcodec.New[order.Event]()
			eventcodec.Register[order.OrderConfirmed](r, "A", 2)
			r.RegisterUpcaster("A", 1, up)
			r.RegisterUpcaster("A", 2, up)
		}, "an upcaster from schema version 2, but A is written at version 2: an upcaster reads payloads older than what the code writes, so the change it is for needs a new version: Register A at version 3"},
		"upcaster from a later version": {func() {
			r := eventcodec.New[order.Event]()
			eventcodec.Register[order.OrderConfirmed](r, "A", 1)
			r.RegisterUpcaster("A", 4, up)
		}, "Register A at version 5"},
		"upcaster from version zero": {func() {
			r := eventcodec.New[order.Event]()
			eventcodec.Register[order.OrderConfirmed](r, "A", 2)
			r.RegisterUpcaster("A", 0, up)
		}, "versions start at 1"},
		"upcaster of an unregistered event": {func() {
			r := eventcodec.New[order.Event]()
			r.RegisterUpcaster("A", 1, up)
		}, "Register the event before its upcasters"},
		"same upcaster twice": {func() {
			r := eventcodec.New[order.Event]()
			eventcodec.Register[order.OrderConfirmed](r, "A", 2)
			r.RegisterUpcaster("A", 1, up)
			r.RegisterUpcaster("A", 1, up)
		}, "upcaster from version 1 registered twice"},
		"missing upcaster": {func() {
			r := eventcodec.New[order.Event]()
			eventcodec.Register[order.OrderConfirmed](r, "A", 3)
			r.RegisterUpcaster("A", 1, up)
			eventcodec.MustCheck(r)
		}, "no upcaster reads version 2"},
	} {
		func() {
			defer func() {
				if p := recover(); p == nil {
					t.Errorf("%s: no panic", name)
				} else if msg := fmt.Sprint(p); !strings.Contains(msg, c.want) {
					t.Errorf("%s: panicked with %q, want it to say %q", name, msg, c.want)
				}
			}()
			c.register()
		}()
	}
}

// A registry is complete when every event written at a version after 1 has an upcaster
// from each older version: a version bumped without its upcaster is found when the
// registry is built (the service's start), not only by a test that reads an old payload.
func TestCheckFindsEveryMissingUpcaster(t *testing.T) {
	up := func(p json.RawMessage) (json.RawMessage, error) { return p, nil }
	r := eventcodec.New[order.Event]()
	eventcodec.Register[order.OrderPlaced](r, "Placed", 4)
	eventcodec.Register[order.OrderConfirmed](r, "Confirmed", 2)
	eventcodec.Register[order.OrderCancelled](r, "Cancelled", 1)
	r.RegisterUpcaster("Placed", 2, up)
	err := r.Check()
	for _, want := range []string{
		`Placed is written at schema version 4, but no upcaster reads version 1: register one, RegisterUpcaster("Placed", 1, ...), that gives a stored v1 payload the v2 shape`,
		"Placed is written at schema version 4, but no upcaster reads version 3",
		"Confirmed is written at schema version 2, but no upcaster reads version 1",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check: %v, want it to say %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "no upcaster reads version 2:") {
		t.Errorf("Check reports the upcaster that is there: %v", err)
	}
	r.RegisterUpcaster("Placed", 1, up)
	r.RegisterUpcaster("Placed", 3, up)
	r.RegisterUpcaster("Confirmed", 1, up)
	if err := r.Check(); err != nil {
		t.Errorf("a complete registry: %v", err)
	}
}

func TestTheOrderRegistryIsComplete(t *testing.T) {
	if err := eventcodec.NewOrderRegistry().Check(); err != nil {
		t.Fatal(err)
	}
}
