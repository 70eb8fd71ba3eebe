package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/example/orders/infrastructure/tracing"
)

// The fulfilment reactor, as cmd/orders wires it, continues the trace of the command it
// reacts to (TestConsumersContinueTheCommandsTrace): the fulfilment consumer's
// span is a child of the confirm request's span, and the shipment it creates is an
// attempt span under it, all in the client's trace; the ShipmentCreated event's
// traceparent is the fulfilment span's, so the trace goes on from it.
func TestFulfilmentContinuesTheCommandsTrace(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	o := newObserved(t, tracing.With(tp))
	if o.svc.consumers == nil {
		t.Fatal("the service runs no consumers")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); o.svc.consumers.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	id := uuid.Must(uuid.NewV7()).String()
	for _, step := range []struct{ path, body string }{
		{"/orders", `{"id":"` + id + `","customer_id":"t","currency":"EUR"}`},
		{"/orders/" + id + "/lines", `{"sku":"s","quantity":1,"unit_price_cents":5}`},
	} {
		if code, body := o.do(t, "POST", step.path, step.body); code >= 300 {
			t.Fatalf("%s: %d %s", step.path, code, body)
		}
	}
	traceID := "0af7651916cd43dd8448eb211c80319c"
	if code, body := o.do(t, "POST", "/orders/"+id+"/confirm", "", "traceparent", "00-"+traceID+"-b7ad6b7169203331-01"); code != 200 {
		t.Fatalf("confirm: %d %s", code, body)
	}

	// The trace also holds the fulfilment spans of the shipment's own events; the one
	// that matters is the CreateShipment attempt's parent.
	var confirm, consume, create *tracetest.SpanStub
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		spans := exp.GetSpans()
		confirm, consume, create = nil, nil, nil
		consumes := map[trace.SpanID]*tracetest.SpanStub{}
		for i := range spans {
			s := &spans[i]
			if s.SpanContext.TraceID().String() != traceID {
				continue
			}
			switch s.Name {
			case "POST /orders/:id/confirm":
				confirm = s
			case "consume fulfilment":
				consumes[s.SpanContext.SpanID()] = s
			case "CreateShipment":
				create = s
			}
		}
		if create != nil {
			consume = consumes[create.Parent.SpanID()]
		}
		if confirm != nil && consume != nil && create != nil {
			break
		}
	}
	if confirm == nil || consume == nil || create == nil {
		t.Fatalf("in trace %s: confirm request %v, CreateShipment attempt %v, a fulfilment span its parent %v", traceID, confirm != nil, create != nil, consume != nil)
	}
	if consume.Parent.SpanID() != confirm.SpanContext.SpanID() {
		t.Errorf("the fulfilment span's parent is %s, want the confirm request's span %s", consume.Parent.SpanID(), confirm.SpanContext.SpanID())
	}
	var confirmed, created string
	if err := o.svc.pool.QueryRow(context.Background(), `SELECT c.metadata->>'traceparent', coalesce(s.metadata->>'traceparent', '')
		FROM events c JOIN events s ON s.causation_id = c.event_id::text AND s.event_type = 'ShipmentCreated'
		WHERE c.stream_id = $1 AND c.event_type = 'OrderConfirmed'`, id).Scan(&confirmed, &created); err != nil {
		t.Fatal(err)
	}
	if want := "00-" + traceID + "-" + consume.SpanContext.SpanID().String() + "-01"; created != want || !strings.HasPrefix(confirmed, "00-"+traceID+"-") {
		t.Errorf("ShipmentCreated's traceparent %q, want %q (OrderConfirmed's %q)", created, want, confirmed)
	}
}
