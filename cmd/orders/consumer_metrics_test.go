package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/infrastructure/metrics"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/infrastructure/tracing"
)

var consumerGauge = regexp.MustCompile(`(?m)^` + metrics.Namespace + `_consumer_(position|lag_events|stopped)\{consumer="([^"]+)",partition="([0-9]+)"\} (\S+)$`)

// consumerGauges returns the consumer gauges of one scrape of /metrics, as
// "name{consumer}" -> value.
func consumerGauges(t *testing.T, o observed) (map[string]string, string) {
	t.Helper()
	code, text := o.do(t, "GET", "/metrics", ``)
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	out := map[string]string{}
	for _, m := range consumerGauge.FindAllStringSubmatch(text, -1) {
		out[m[1]+"{"+m[2]+"/"+m[3]+"}"] = m[4]
	}
	return out, text
}

// startConsumers runs the service's consumers until the test ends and waits until each
// has a checkpoint at the end of the log.
func startConsumers(t *testing.T, o observed) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); o.svc.consumers.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	id := uuid.Must(uuid.NewV7()).String()
	if code, body := o.do(t, "POST", "/orders", `{"id":"`+id+`","customer_id":"m","currency":"EUR"}`); code != 201 {
		t.Fatalf("place: %d %s", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		all, err := o.svc.consumers.Stats(ctx, o.svc.pool)
		if err != nil {
			t.Fatal(err)
		}
		caughtUp := len(all) >= len(o.svc.consumers.Names())
		for _, s := range all {
			caughtUp = caughtUp && s.LagEvents == 0 && s.Position > 0
		}
		if caughtUp {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumers not caught up: %+v", all)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The first scrape has the consumer gauges, equal to `consumers status`: they were
// refreshed in the background, so the first scrape had none and each later one the
// numbers of the scrape before (issue 19).
func TestConsumerGaugesOnTheFirstScrape(t *testing.T) {
	t.Parallel()
	o := newObserved(t, tracing.Disabled())
	startConsumers(t, o)
	want, err := subscription.Statuses(context.Background(), o.svc.pool)
	if err != nil {
		t.Fatal(err)
	}
	got, text := consumerGauges(t, o)
	for _, s := range want {
		for name, v := range map[string]int64{"position": s.Position, "lag_events": s.LagEvents, "stopped": 0} {
			if g := got[name+"{"+s.Name+"/"+strconv.Itoa(s.Partition)+"}"]; g != strconv.FormatInt(v, 10) {
				t.Errorf("first scrape: %s_consumer_%s{consumer=%q,partition=\"%d\"} = %q, want %d", metrics.Namespace, name, s.Name, s.Partition, g, v)
			}
		}
	}
	if !strings.Contains(text, metrics.Namespace+"_consumer_stats_age_seconds ") {
		t.Error("first scrape: no " + metrics.Namespace + "_consumer_stats_age_seconds")
	}
}

// When the gauges cannot be read, a scrape says so (an error counted, the age of the
// last good read) and shows no old numbers: they were kept, so a lag alert stayed
// quiet while the lag was unknown (issue 19).
func TestConsumerGaugesAreNeverSilentlyStale(t *testing.T) {
	t.Parallel()
	o := newObserved(t, tracing.Disabled())
	startConsumers(t, o)
	deadline := time.Now().Add(10 * time.Second)
	for got, _ := consumerGauges(t, o); len(got) == 0; got, _ = consumerGauges(t, o) {
		if time.Now().After(deadline) {
			t.Fatal("no consumer gauges")
		}
		time.Sleep(100 * time.Millisecond)
	}
	o.svc.pool.Close() // every read of the gauges fails from now on
	// Past the reuse of the last read, and past the old background refresh's 5 s.
	for _, wait := range []time.Duration{metrics.ConsumerStatsReuse, 5 * time.Second} {
		time.Sleep(wait + 100*time.Millisecond)
		got, text := consumerGauges(t, o)
		if len(got) > 0 {
			t.Errorf("%v after the database went away: stale gauges %v", wait, got)
		}
		if !regexp.MustCompile(`(?m)^` + metrics.Namespace + `_consumer_stats_errors_total [1-9]`).MatchString(text) {
			t.Errorf("%v after the database went away: no failed read counted", wait)
		}
		age := regexp.MustCompile(`(?m)^` + metrics.Namespace + `_consumer_stats_age_seconds (\S+)$`).FindStringSubmatch(text)
		if age == nil {
			t.Errorf("%v after the database went away: no %s_consumer_stats_age_seconds", wait, metrics.Namespace)
		} else if v, _ := strconv.ParseFloat(age[1], 64); v < wait.Seconds() {
			t.Errorf("%v after the database went away: %s_consumer_stats_age_seconds %s", wait, metrics.Namespace, fmt.Sprint(v))
		}
	}
}
