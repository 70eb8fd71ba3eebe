package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// healthcheckTimeout bounds the whole check: an orchestrator's probe must not hang on
// a service that accepts connections but never answers.
const healthcheckTimeout = 3 * time.Second

// runHealthcheck GETs url (by default /readyz on LISTEN_ADDR, seen from inside the
// container) and succeeds only on a 2xx answer. It exists for images that have no
// shell or curl (distroless, scratch): Docker's HEALTHCHECK runs `orders healthcheck`.
func runHealthcheck(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stdout)
	url := fs.String("url", defaultHealthcheckURL(getenv("LISTEN_ADDR")), "URL to GET; any 2xx answer is healthy")
	timeout := fs.Duration("timeout", healthcheckTimeout, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("healthcheck: unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	// No proxy: the target is this very process, and HTTP_PROXY in a container's
	// environment must not send the probe elsewhere.
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("healthcheck: GET %s: %s", *url, resp.Status)
	}
	_, _ = fmt.Fprintf(stdout, "healthcheck: GET %s: %s\n", *url, resp.Status)
	return nil
}

// defaultHealthcheckURL turns the listen address into a URL that reaches it from the
// same host: an empty or wildcard host becomes the loopback address.
func defaultHealthcheckURL(listen string) string {
	if listen == "" {
		listen = defaultConfig().ListenAddr
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://127.0.0.1:8080/readyz"
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz"
}
