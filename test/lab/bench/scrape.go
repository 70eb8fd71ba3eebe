package main

import (
	"bufio"
	"context"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/example/orders/infrastructure/servicename"
)

// timeline is the service's own view of the run: its /metrics scraped at a fixed
// interval, reduced to the counters the request-rate and latency chart needs
// (bench-service.png), with the moments each scenario started.
type timeline struct {
	Interval float64 `json:"interval_seconds"`
	// Les are the latency histogram's finite bucket bounds, in seconds.
	Les    []float64       `json:"les"`
	Points []timelinePoint `json:"points"`
	Marks  []timelineMark  `json:"scenarios"`

	mu    sync.Mutex
	start time.Time
}

// timelinePoint is one scrape: cumulative counters over every route.
type timelinePoint struct {
	T        float64   `json:"t"`        // seconds since the first scrape
	Requests float64   `json:"requests"` // orders_http_requests_total, all labels
	Buckets  []float64 `json:"buckets"`  // orders_http_request_duration_seconds_bucket by Les
	Count    float64   `json:"count"`    // the histogram's count (its +Inf bucket)
}

type timelineMark struct {
	T    float64 `json:"t"`
	Name string  `json:"name"`
}

// scrapeMetrics scrapes base/metrics every interval into tl until the returned stop is
// called; a failed scrape is skipped.
func scrapeMetrics(ctx context.Context, base string, interval time.Duration, tl *timeline) (stop func()) {
	tl.Interval = interval.Seconds()
	tl.start = time.Now()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	client := &http.Client{Timeout: 5 * time.Second}
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			tl.scrape(ctx, client, base+"/metrics")
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		tl.scrape(context.WithoutCancel(ctx), client, base+"/metrics") // the end of the last scenario; ctx may be cancelled by now
		cancel()
		<-done
	}
}

// mark notes that a scenario starts now.
func (tl *timeline) mark(name string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if !tl.start.IsZero() {
		tl.Marks = append(tl.Marks, timelineMark{T: time.Since(tl.start).Seconds(), Name: name})
	}
}

func (tl *timeline) scrape(ctx context.Context, client *http.Client, url string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return
	}
	t := time.Since(tl.start).Seconds()
	resp, err := client.Do(req)
	if err != nil {
		return
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return
	}
	requests, buckets := parseHTTPMetrics(resp.Body)
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if tl.Les == nil {
		for le := range buckets {
			if !math.IsInf(le, 1) {
				tl.Les = append(tl.Les, le)
			}
		}
		sort.Float64s(tl.Les)
	}
	p := timelinePoint{T: t, Requests: requests, Buckets: make([]float64, len(tl.Les)), Count: buckets[math.Inf(1)]}
	for i, le := range tl.Les {
		p.Buckets[i] = buckets[le]
	}
	tl.Points = append(tl.Points, p)
}

// parseHTTPMetrics sums orders_http_requests_total and the latency histogram's buckets
// over all their labels, from the Prometheus text format.
func parseHTTPMetrics(r io.Reader) (requests float64, buckets map[float64]float64) {
	buckets = map[float64]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		series := line[:sp]
		// OpenMetrics may add a timestamp or exemplar; the text format here has neither.
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		name, labels, _ := strings.Cut(series, "{")
		switch name {
		case servicename.Name + "_http_requests_total":
			requests += v
		case servicename.Name + "_http_request_duration_seconds_bucket":
			_, rest, ok := strings.Cut(labels, `le="`)
			if !ok {
				continue
			}
			leText, _, _ := strings.Cut(rest, `"`)
			le, err := strconv.ParseFloat(leText, 64) // "+Inf" parses as +Inf
			if err == nil {
				buckets[le] += v
			}
		}
	}
	return requests, buckets
}
