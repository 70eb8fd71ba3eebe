package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// runFeed is `orders feed tail`: an example consumer of GET /events/stream. It prints
// every event (one line each: position, type, stream, then the JSON item), keeps its
// position in a file (written to a temporary file and renamed over the old one after
// every event, so a crash leaves the old or the new position, never a torn one), and
// survives restarts of the service: it reconnects with backoff and Last-Event-ID, so
// it neither loses nor repeats an event.
func runFeed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "tail" {
		return fmt.Errorf("feed needs an action: tail")
	}
	fs := flag.NewFlagSet("feed tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "http://127.0.0.1:8080", "the service's base URL")
	types := fs.String("types", "", "only these event types, comma-separated")
	streamType := fs.String("stream-type", "", "only events of streams of this type, e.g. order")
	posFile := fs.String("position-file", "", "keep the position here and resume from it")
	after := fs.Int64("after", 0, "start after this position (when the position file has none)")
	token := fs.String("token", getenv("TOKEN"), "bearer token with the events:read scope (default $TOKEN)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	pos := *after
	if *posFile != "" {
		b, err := os.ReadFile(*posFile)
		switch {
		case err == nil:
			if pos, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err != nil {
				return fmt.Errorf("position file %s: %w", *posFile, err)
			}
		case !errors.Is(err, os.ErrNotExist):
			return err
		}
	}
	t := &tailer{base: strings.TrimRight(*base, "/"), types: *types, streamType: *streamType, posFile: *posFile, token: *token,
		pos: pos, out: bufio.NewWriter(stdout), log: stderr, client: &http.Client{}}
	return t.run(ctx)
}

type tailer struct {
	base, types, streamType, posFile, token string
	pos                                     int64
	out                                     *bufio.Writer
	log                                     io.Writer
	client                                  *http.Client
}

func (t *tailer) run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		got, err := t.follow(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if got {
			backoff = 100 * time.Millisecond
		}
		var permanent *permanentError
		if errors.As(err, &permanent) {
			return err
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		fmt.Fprintf(t.log, "feed tail: %v; reconnecting after %d in %v\n", err, t.pos, wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

// follow reads one connection's stream until it ends; got reports whether any message
// arrived (which resets the backoff).
func (t *tailer) follow(ctx context.Context) (got bool, err error) {
	q := url.Values{}
	if t.types != "" {
		q.Set("types", t.types)
	}
	if t.streamType != "" {
		q.Set("stream_type", t.streamType)
	}
	u := t.base + "/events/stream"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, &permanentError{err.Error()}
	}
	req.Header.Set("Accept", "text/event-stream")
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	req.Header.Set("Last-Event-ID", strconv.FormatInt(t.pos, 10))
	resp, err := t.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		msg := fmt.Sprintf("GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
		if resp.StatusCode == http.StatusBadRequest {
			return false, &permanentError{msg}
		}
		return false, errors.New(msg)
	}
	// Last-Event-ID state of the SSE model: id, event, data collect until a blank line.
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var id, event, data string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if id != "" {
				p, err := strconv.ParseInt(id, 10, 64)
				if err != nil {
					return got, fmt.Errorf("bad id %q", id)
				}
				if data != "" {
					fmt.Fprintf(t.out, "%d %s %s\n", p, event, data)
					if err := t.out.Flush(); err != nil {
						return got, &permanentError{"write output: " + err.Error()}
					}
				}
				if err := t.save(p); err != nil {
					return got, &permanentError{err.Error()}
				}
				got = true
			}
			id, event, data = "", "", ""
			continue
		}
		if strings.HasPrefix(line, ":") {
			got = true
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			id = value
		case "event":
			event = value
		case "data":
			data = value
		}
	}
	if err := sc.Err(); err != nil {
		return got, err
	}
	return got, errors.New("stream ended")
}

// save records the position, atomically: a temporary file in the same directory,
// synced, then renamed over the old one.
func (t *tailer) save(p int64) error {
	t.pos = p
	if t.posFile == "" {
		return nil
	}
	dir := filepath.Dir(t.posFile)
	f, err := os.CreateTemp(dir, filepath.Base(t.posFile)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // gone after the rename
	if _, err := f.WriteString(strconv.FormatInt(p, 10) + "\n"); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), t.posFile)
}
