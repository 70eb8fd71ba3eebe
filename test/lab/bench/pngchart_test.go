package main

import (
	"bytes"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/example/orders/infrastructure/servicename"
)

func TestParseHTTPMetricsAndQuantile(t *testing.T) {
	text := strings.ReplaceAll(`# HELP NS_http_requests_total x
NS_http_requests_total{method="GET",route="/orders/:id",status="200"} 3
NS_http_requests_total{method="POST",route="/orders",status="201"} 7
NS_http_request_duration_seconds_bucket{method="GET",route="/orders/:id",le="0.001"} 2
NS_http_request_duration_seconds_bucket{method="GET",route="/orders/:id",le="0.01"} 3
NS_http_request_duration_seconds_bucket{method="GET",route="/orders/:id",le="+Inf"} 3
NS_http_request_duration_seconds_bucket{method="POST",route="/orders",le="0.001"} 0
NS_http_request_duration_seconds_bucket{method="POST",route="/orders",le="0.01"} 6
NS_http_request_duration_seconds_bucket{method="POST",route="/orders",le="+Inf"} 7
`, "NS", servicename.Name)
	req, b := parseHTTPMetrics(strings.NewReader(text))
	if req != 10 || b[0.001] != 2 || b[0.01] != 9 || b[math.Inf(1)] != 10 {
		t.Fatalf("requests %v buckets %v", req, b)
	}
	if q := bucketQuantile(0.5, []float64{0.001, 0.01}, []float64{2, 9}, 10); math.Abs(q-0.001-0.009*3/7) > 1e-9 {
		t.Errorf("p50 %v", q)
	}
	if q := bucketQuantile(0.99, []float64{0.001, 0.01}, []float64{2, 9}, 10); q != 0.01 {
		t.Errorf("p99 beyond the last bucket %v, want its bound", q)
	}
}

func TestServiceChartIsASmallPNG(t *testing.T) {
	tl := &timeline{Interval: 1, Les: []float64{0.001, 0.01, 0.1}, Marks: []timelineMark{{0, "place"}, {5, "addline"}}}
	for i := 0; i <= 10; i++ {
		f := float64(i)
		tl.Points = append(tl.Points, timelinePoint{T: f, Requests: 100 * f * f, Buckets: []float64{50 * f * f, 90 * f * f, 99 * f * f}, Count: 100 * f * f})
	}
	b, err := serviceChart(tl, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	if len(b) > 60<<10 {
		t.Errorf("chart is %d bytes", len(b))
	}
}
