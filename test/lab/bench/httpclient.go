package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/example/orders/test/testsupport"
)

// httpClient is the one client every worker shares: keep-alive connections, at least
// one idle connection per worker, so that a closed loop never reconnects.
type httpClient struct {
	base string
	hc   *http.Client
}

func newHTTPClient(base string, workers int) *httpClient {
	tr := &http.Transport{
		MaxIdleConns:        2 * workers,
		MaxIdleConnsPerHost: 2 * workers,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	// One staff token for every request (testsupport.Bearer): each request pays the
	// token check, as in production, and the numbers stay comparable across runs.
	return &httpClient{base: base, hc: &http.Client{Transport: testsupport.Bearer{Base: tr}, Timeout: 30 * time.Second}}
}

// answer is a response read to the end.
type answer struct {
	status int
	body   []byte
	etag   string
}

func (c *httpClient) do(ctx context.Context, method, path string, body []byte) (answer, error) {
	return c.doWith(ctx, method, path, body, nil)
}

// doWith is do with extra request headers.
func (c *httpClient) doWith(ctx context.Context, method, path string, body []byte, headers map[string]string) (answer, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return answer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return answer{status: resp.StatusCode, body: b, etag: resp.Header.Get("ETag")}, nil
}

// expect turns an answer into an outcome: the wanted status is fine, anything else is
// an error labelled with its status and problem code.
func expect(a answer, err error, want int) outcome {
	if err != nil {
		return outcome{label: "transport error", err: err}
	}
	if a.status == want {
		return outcome{label: strconv.Itoa(a.status), bytes: len(a.body)}
	}
	label := labelOf(a)
	return outcome{label: label, bytes: len(a.body), err: fmt.Errorf("%s: %s", label, truncate(a.body, 200))}
}

// labelOf is the status, with the problem code when there is one.
func labelOf(a answer) string {
	label := strconv.Itoa(a.status)
	if a.status >= 400 {
		var p struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(a.body, &p) == nil && p.Code != "" {
			label += " " + p.Code
		}
	}
	return label
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// orderJSON is the part of an order response the checks look at.
type orderJSON struct {
	ID         string `json:"id"`
	Version    int64  `json:"version"`
	LineCount  int64  `json:"line_count"`
	TotalCents int64  `json:"total_cents"`
	Status     string `json:"status"`
	Lines      []struct {
		SKU            string `json:"sku"`
		Quantity       int64  `json:"quantity"`
		UnitPriceCents int64  `json:"unit_price_cents"`
	} `json:"lines"`
}

// placeOrder places an order over HTTP and returns its id.
func (c *httpClient) placeOrder(ctx context.Context, customer string) (string, outcome) {
	a, err := c.do(ctx, http.MethodPost, "/orders", placeBody(customer))
	o := expect(a, err, http.StatusCreated)
	if o.err != nil {
		return "", o
	}
	var ord orderJSON
	if err := json.Unmarshal(a.body, &ord); err != nil || ord.ID == "" || ord.Version != 1 {
		o.err = fmt.Errorf("201 without an order at version 1 (%w): %s", err, truncate(a.body, 200))
	}
	return ord.ID, o
}

// addLine adds one line over HTTP.
func (c *httpClient) addLine(ctx context.Context, id, sku string, qty int, price int64) (answer, error) {
	return c.do(ctx, http.MethodPost, "/orders/"+id+"/lines", lineBody(sku, qty, price))
}

// preferMinimal asks a command for 204 without a body (RFC 7240).
var preferMinimal = map[string]string{"Prefer": "return=minimal"}

// addLineMinimal adds one line with Prefer: return=minimal; the answer is 204.
func (c *httpClient) addLineMinimal(ctx context.Context, id, sku string, qty int, price int64) outcome {
	a, err := c.doWith(ctx, http.MethodPost, "/orders/"+id+"/lines", lineBody(sku, qty, price), preferMinimal)
	o := expect(a, err, http.StatusNoContent)
	if o.err == nil && (a.etag == "" || len(a.body) != 0) {
		o.err = fmt.Errorf("204 with ETag %q and %d bytes of body", a.etag, len(a.body))
	}
	return o
}

// getOrder reads an order (path may carry a query) and decodes it.
func (c *httpClient) getOrder(ctx context.Context, pathAndQuery string) (orderJSON, error) {
	a, err := c.do(ctx, http.MethodGet, pathAndQuery, nil)
	if err != nil {
		return orderJSON{}, err
	}
	if a.status != http.StatusOK {
		return orderJSON{}, fmt.Errorf("GET %s: %s", pathAndQuery, labelOf(a))
	}
	var ord orderJSON
	if err := json.Unmarshal(a.body, &ord); err != nil {
		return orderJSON{}, fmt.Errorf("GET %s: %w", pathAndQuery, err)
	}
	return ord, nil
}

// eventCount returns the number of events GET /orders/{id}/events lists, following
// every page (next_after), after checking that their versions are 1..n.
func (c *httpClient) eventCount(ctx context.Context, id string) (int, error) {
	n := 0
	path := "/orders/" + id + "/events?limit=1000"
	for {
		a, err := c.do(ctx, http.MethodGet, path, nil)
		if err != nil {
			return 0, err
		}
		if a.status != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %s", path, labelOf(a))
		}
		var page struct {
			Items []struct {
				Version int64 `json:"version"`
			} `json:"items"`
			NextAfter *int64 `json:"next_after"`
		}
		if err := json.Unmarshal(a.body, &page); err != nil {
			return 0, err
		}
		for _, e := range page.Items {
			n++
			if e.Version != int64(n) {
				return 0, fmt.Errorf("order %s: event %d has version %d", id, n, e.Version)
			}
		}
		if page.NextAfter == nil {
			return n, nil
		}
		path = "/orders/" + id + "/events?limit=1000&after=" + strconv.FormatInt(*page.NextAfter, 10)
	}
}

func placeBody(customer string) []byte {
	b, _ := json.Marshal(map[string]string{"customer_id": customer, "currency": "EUR"})
	return b
}

func lineBody(sku string, qty int, price int64) []byte {
	b, _ := json.Marshal(map[string]any{"sku": sku, "quantity": qty, "unit_price_cents": price})
	return b
}
