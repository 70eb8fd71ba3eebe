package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/logging"
	"github.com/example/orders/infrastructure/metrics"
	"github.com/example/orders/infrastructure/postgres/customersummary"
	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/infrastructure/tracing"
	"github.com/example/orders/infrastructure/wiring"
	"github.com/example/orders/test/pgtest"
)

// observed is the service as build wires it, on a fresh database, with the tracing
// given, served by httptest.
type observed struct {
	srv  *httptest.Server
	svc  *service
	logs *syncBuffer
}

func newObserved(t *testing.T, tr *tracing.Tracing) observed {
	t.Helper()
	cfg := defaultConfig()
	cfg.DatabaseURL = pgtest.NewDatabase(t)
	cfg.MaxConns = 4
	cfg.AuthMode = "none" // what is observed here does not depend on who calls
	logs := &syncBuffer{}
	log, err := logging.New(logs, "info")
	if err != nil {
		t.Fatal(err)
	}
	svc, cleanup, err := buildWith(context.Background(), cfg, log, tr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	srv := httptest.NewServer(svc.handler)
	t.Cleanup(srv.Close)
	return observed{srv: srv, svc: svc, logs: logs}
}

func (o observed) do(t *testing.T, method, path, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, o.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestMetricsAfterCommands(t *testing.T) {
	t.Parallel()
	o := newObserved(t, tracing.Disabled())
	id := uuid.Must(uuid.NewV7()).String()
	if code, body := o.do(t, "POST", "/orders", `{"id":"`+id+`","customer_id":"m","currency":"EUR"}`); code != 201 {
		t.Fatalf("place: %d %s", code, body)
	}
	if code, body := o.do(t, "POST", "/orders/"+id+"/lines", `{"sku":"apple","quantity":2,"unit_price_cents":150}`); code != 200 {
		t.Fatalf("add line: %d %s", code, body)
	}
	if code, body := o.do(t, "POST", "/orders/"+id+"/confirm", ``, "If-Match", `"1"`); code != 412 && code != 409 {
		t.Fatalf("confirm with a stale If-Match: %d %s", code, body)
	}
	if code, _ := o.do(t, "POST", "/orders/"+id+"/cancel", ``); code != 200 {
		t.Fatalf("cancel: %d", code)
	}
	if code, _ := o.do(t, "POST", "/orders/"+id+"/confirm", ``); code != 409 {
		t.Fatalf("confirm a cancelled order: %d", code)
	}
	o.do(t, "GET", "/orders/"+id, ``)
	o.do(t, "GET", "/no/such/path/"+id, ``)

	code, text := o.do(t, "GET", "/metrics", ``)
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, text)
	}
	for _, want := range []string{
		metrics.Namespace + `_http_requests_total{method="POST",route="/orders",status="201"} 1`,
		metrics.Namespace + `_http_requests_total{method="POST",route="/orders/:id/lines",status="200"} 1`,
		metrics.Namespace + `_http_requests_total{method="GET",route="/orders/:id",status="200"} 1`,
		metrics.Namespace + `_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		metrics.Namespace + `_http_request_duration_seconds_count{method="POST",route="/orders"} 1`,
		metrics.Namespace + `_commands_total{command="PlaceOrder",outcome="ok"} 1`,
		metrics.Namespace + `_commands_total{command="AddOrderLine",outcome="ok"} 1`,
		metrics.Namespace + `_commands_total{command="ConfirmOrder",outcome="conflict"} 1`,
		metrics.Namespace + `_commands_total{command="ConfirmOrder",outcome="rejected"} 1`,
		metrics.Namespace + `_commands_total{command="CancelOrder",outcome="ok"} 1`,
		metrics.Namespace + `_command_attempts_count{command="PlaceOrder"} 1`,
		metrics.Namespace + `_events_appended_total{stream_type="order"} 3`,
		metrics.Namespace + `_eventstore_append_duration_seconds_count 3`,
		metrics.Namespace + `_db_pool_acquired_conns 0`,
		metrics.Namespace + `_db_pool_waiting_acquires 0`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, re := range []string{`(?m)^` + metrics.Namespace + `_db_pool_total_conns [1-9]`, `(?m)^` + metrics.Namespace + `_db_pool_idle_conns [1-9]`} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("/metrics does not match %s", re)
		}
	}
	if strings.Contains(text, id) {
		t.Error("an order id is in a label")
	}
	// The consumers (registered, not running here) are read at the first scrape; the
	// read succeeded (no checkpoint exists yet, so there is no gauge per consumer).
	if !strings.Contains(text, metrics.Namespace+"_consumer_stats_errors_total 0") || strings.Contains(text, metrics.Namespace+"_consumer_position") {
		t.Error("consumer metrics: want the read's counter at 0 and no consumer's gauges")
	}
	if code, _ := o.do(t, "POST", "/metrics", ``); code == http.StatusOK {
		t.Error("POST /metrics answered 200")
	}
}

func TestOneCommandIsOneTrace(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	o := newObserved(t, tracing.With(tp))

	// The client's trace continues: its traceparent is the parent of the HTTP span.
	parent := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	id := uuid.Must(uuid.NewV7()).String()
	if code, body := o.do(t, "POST", "/orders", `{"id":"`+id+`","customer_id":"t","currency":"EUR"}`, "traceparent", parent); code != 201 {
		t.Fatalf("place: %d %s", code, body)
	}
	wantTrace := "4bf92f3577b34da6a3ce929d0e0e4736"

	var httpSpan, attempt *tracetest.SpanStub
	var sql int
	spans := exp.GetSpans()
	for i := range spans {
		s := &spans[i]
		if s.SpanContext.TraceID().String() != wantTrace {
			continue
		}
		switch {
		case s.Name == "POST /orders" && s.SpanKind == trace.SpanKindServer:
			httpSpan = s
		case s.Name == "PlaceOrder":
			attempt = s
		case s.InstrumentationScope.Name == "github.com/exaring/otelpgx":
			sql++
		}
	}
	if httpSpan == nil || attempt == nil || sql == 0 {
		for _, s := range spans {
			t.Logf("span %q trace %s scope %s", s.Name, s.SpanContext.TraceID(), s.InstrumentationScope.Name)
		}
		t.Fatalf("want the HTTP span, the attempt span and SQL spans in trace %s; SQL spans: %d", wantTrace, sql)
	}
	if httpSpan.Parent.SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("HTTP span's parent %s, want the client's span", httpSpan.Parent.SpanID())
	}
	if attempt.Parent.SpanID() != httpSpan.SpanContext.SpanID() {
		t.Error("the attempt span is not a child of the HTTP span")
	}
	attrs := map[string]string{}
	for _, kv := range attempt.Attributes {
		attrs[string(kv.Key)] = kv.Value.String()
	}
	if attrs["aggregate"] != "order" || attrs["id"] != id || attrs["attempt"] != "1" || attrs["outcome"] != "ok" {
		t.Errorf("attempt span attributes %v", attrs)
	}

	// The event's metadata carries the trace, from the HTTP span.
	var raw []byte
	if err := o.svc.pool.QueryRow(context.Background(), `SELECT metadata FROM events WHERE stream_id = $1`, id).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var md struct{ Traceparent string }
	if err := json.Unmarshal(raw, &md); err != nil {
		t.Fatal(err)
	}
	want := "00-" + wantTrace + "-" + httpSpan.SpanContext.SpanID().String() + "-01"
	if md.Traceparent != want {
		t.Errorf("event metadata traceparent %q, want %q", md.Traceparent, want)
	}

	// Log lines of the request carry the trace.
	if !strings.Contains(o.logs.String(), `"trace_id":"`+wantTrace+`"`) {
		t.Errorf("no log line carries the trace id: %s", o.logs.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A consumer continues the trace of the command whose events it handles. The
// service's customer_summary handles the confirmation in a span of the confirm
// request's trace (its child, or linked to it when the batch held other commands'
// events too). A reactor handling one event is a child of its command's span, and the
// command it runs is an attempt span under it, all in the client's trace; the event
// that command writes carries the reactor span's traceparent, so the trace goes on
// from it. The reactor here is the test's own (each confirmed order gets a follow-up
// order), run as cmd/orders runs its consumers: on the service's tracing.
func TestConsumersContinueTheCommandsTrace(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tr := tracing.With(tp)
	o := newObserved(t, tr)
	if o.svc.consumers == nil {
		t.Fatal("the service runs no consumers")
	}
	app, _, err := wiring.App(o.svc.pool, nil, customersummary.NewReader(o.svc.pool), o.svc.keys,
		appkit.RunnerConfig{Observer: tr.CommandObserver(), Traceparent: tracing.Traceparent})
	if err != nil {
		t.Fatal(err)
	}
	followUp := subscription.Consumer{Name: "follow_up", React: func(ctx context.Context, e eventstore.RecordedEvent) error {
		if e.Type != "OrderConfirmed" {
			return nil
		}
		ctx = appkit.WithMetadata(appkit.AsSystem(ctx), appkit.Metadata{CausationID: e.EventID.String(), IssuedBy: "process follow_up"})
		_, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: uuid.NewSHA1(e.EventID, []byte("follow-up")), CustomerID: "t", Currency: "EUR"})
		if errors.Is(err, order.ErrAlreadyPlaced) {
			return nil // handled before: at least once
		}
		return err
	}}
	reactor := subscription.New(o.svc.pool.Config().ConnConfig, subscription.Options{Span: tr.ConsumerSpan, PollInterval: 20 * time.Millisecond}, followUp)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, r := range []*subscription.Runtime{o.svc.consumers, reactor} {
		wg.Add(1)
		go func() { defer wg.Done(); r.Run(ctx) }()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })

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

	summaryName := "consume " + customersummary.ConsumerName(customersummary.Version)
	var confirm, consume, place, summary *tracetest.SpanStub
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		spans := exp.GetSpans()
		confirm, consume, place, summary = nil, nil, nil, nil
		consumes := map[trace.SpanID]*tracetest.SpanStub{}
		for i := range spans {
			s := &spans[i]
			switch {
			case s.Name == summaryName && summary == nil && (s.SpanContext.TraceID().String() == traceID || linksTo(s, traceID)):
				summary = s
			case s.SpanContext.TraceID().String() != traceID:
			case s.Name == "POST /orders/:id/confirm":
				confirm = s
			case s.Name == "consume follow_up":
				consumes[s.SpanContext.SpanID()] = s
			case s.Name == "PlaceOrder":
				place = s
			}
		}
		if place != nil {
			consume = consumes[place.Parent.SpanID()]
		}
		if confirm != nil && consume != nil && place != nil && summary != nil {
			break
		}
	}
	if confirm == nil || consume == nil || place == nil || summary == nil {
		t.Fatalf("in trace %s: confirm request %v, PlaceOrder attempt %v, a follow_up span its parent %v; a %s span in or linked to it %v",
			traceID, confirm != nil, place != nil, consume != nil, summaryName, summary != nil)
	}
	if consume.Parent.SpanID() != confirm.SpanContext.SpanID() {
		t.Errorf("the follow_up span's parent is %s, want the confirm request's span %s", consume.Parent.SpanID(), confirm.SpanContext.SpanID())
	}
	if summary.SpanContext.TraceID().String() == traceID && summary.Parent.SpanID() != confirm.SpanContext.SpanID() {
		t.Errorf("the %s span's parent is %s, want the confirm request's span %s", summaryName, summary.Parent.SpanID(), confirm.SpanContext.SpanID())
	}
	var confirmed, placed string
	if err := o.svc.pool.QueryRow(context.Background(), `SELECT c.metadata->>'traceparent', coalesce(p.metadata->>'traceparent', '')
		FROM events c JOIN events p ON p.causation_id = c.event_id::text AND p.event_type = 'OrderPlaced'
		WHERE c.stream_id = $1 AND c.event_type = 'OrderConfirmed'`, id).Scan(&confirmed, &placed); err != nil {
		t.Fatal(err)
	}
	if want := "00-" + traceID + "-" + consume.SpanContext.SpanID().String() + "-01"; placed != want || !strings.HasPrefix(confirmed, "00-"+traceID+"-") {
		t.Errorf("the follow-up's OrderPlaced traceparent %q, want %q (OrderConfirmed's %q)", placed, want, confirmed)
	}
}

// linksTo is whether s links to a span of the trace.
func linksTo(s *tracetest.SpanStub, traceID string) bool {
	for _, l := range s.Links {
		if l.SpanContext.TraceID().String() == traceID {
			return true
		}
	}
	return false
}
