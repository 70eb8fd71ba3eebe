package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/example/orders/api"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/feed"
)

// EventFeed is the whole log as the feed endpoints need it (feed.Feed).
type EventFeed interface {
	Page(ctx context.Context, q feed.Query) (feed.Page, error)
	PageUpTo(ctx context.Context, q feed.Query, horizon int64) (feed.Page, error)
	Subscribe() (unsubscribe func())
	Head() (horizon int64, changed <-chan struct{})
}

// FeedConfig holds the feed's settings.
type FeedConfig struct {
	EventTypes   []string      // every event type some aggregate defines (from the codecs' registries)
	Heartbeat    time.Duration // a comment on an idle stream this often
	WriteTimeout time.Duration // a stream whose client does not take a page within this is ended
	MaxStreams   int           // open streams per process; past it 503
	// MaxStreamsPerCaller bounds the open streams of one caller (the principal's
	// subject) per process, so that one client cannot take every stream; past it 429.
	// 0: no bound. A principal without a subject (AUTH_MODE=none) is not bounded apart.
	MaxStreamsPerCaller int
	MaxLifetime         time.Duration // a stream is ended after this (the client reconnects)
	// Shutdown is closed when the server begins to shut down: every stream ends at
	// once, so that the HTTP server's graceful shutdown is not held by them.
	Shutdown <-chan struct{}
}

// streamRoute is the one route that streams: no request timeout applies to it.
const streamRoute = "/events/stream"

const streamPageSize = 100

func scanLimit(limit int) int { return min(max(10*limit, 1000), 10000) }

func (h *Handlers) GetEventFeed(ctx context.Context, r api.GetEventFeedRequestObject) (api.GetEventFeedResponseObject, error) {
	if err := appkit.AuthorizeEventFeed(ctx); err != nil {
		return nil, err
	}
	q := feed.Query{Limit: 100}
	if r.Params.Limit != nil {
		q.Limit = *r.Params.Limit
	}
	if err := h.feedFilters(&q, r.Params.After, r.Params.Types, r.Params.StreamType); err != nil {
		return nil, err
	}
	q.ScanLimit = scanLimit(q.Limit)
	page, err := h.feed.Page(ctx, q)
	if err != nil {
		return nil, err
	}
	out := api.FeedPage{Items: make([]api.FeedEvent, len(page.Events)), NextAfter: page.NextAfter, AtHead: page.AtHead}
	for i, e := range page.Events {
		if out.Items[i], err = toFeedEvent(e); err != nil {
			return nil, err
		}
	}
	return api.GetEventFeed200JSONResponse{Body: out}, nil
}

// feedFilters checks the filters the schema cannot: every type must be one an
// aggregate defines.
func (h *Handlers) feedFilters(q *feed.Query, after *int64, types *[]string, streamType *string) error {
	if after != nil {
		q.After = *after
	}
	if streamType != nil {
		q.StreamType = *streamType
	}
	if types != nil {
		var unknown []string
		for _, t := range *types {
			if !slices.Contains(h.feedCfg.EventTypes, t) {
				unknown = append(unknown, t)
			}
		}
		if len(unknown) > 0 {
			return badRequest("Invalid request: types names unknown event types: "+strings.Join(unknown, ", ")+".",
				api.FieldError{Field: "types", Message: "must name known event types (" + strings.Join(h.feedCfg.EventTypes, ", ") + "); unknown: " + strings.Join(unknown, ", ")})
		}
		q.Types = slices.Compact(slices.Sorted(slices.Values(*types)))
	}
	return nil
}

func toFeedEvent(e eventstore.RecordedEvent) (api.FeedEvent, error) {
	out := api.FeedEvent{
		EventId: e.EventID, Type: e.Type, SchemaVersion: e.SchemaVersion, Version: e.Version, Position: e.Position,
		RecordedAt: e.RecordedAt.UTC(), StreamType: e.Stream.Type, StreamId: e.Stream.ID,
		Data: map[string]any{}, Metadata: map[string]any{},
	}
	if err := json.Unmarshal(e.Payload, &out.Data); err != nil {
		return out, fmt.Errorf("event %s: data: %w", e.EventID, err)
	}
	if len(e.Metadata) > 0 {
		if err := json.Unmarshal(e.Metadata, &out.Metadata); err != nil {
			return out, fmt.Errorf("event %s: metadata: %w", e.EventID, err)
		}
	}
	return out, nil
}

func (h *Handlers) StreamEvents(ctx context.Context, r api.StreamEventsRequestObject) (api.StreamEventsResponseObject, error) {
	if err := appkit.AuthorizeEventFeed(ctx); err != nil {
		return nil, err
	}
	q := feed.Query{Limit: streamPageSize, ScanLimit: scanLimit(streamPageSize)}
	if err := h.feedFilters(&q, r.Params.After, r.Params.Types, r.Params.StreamType); err != nil {
		return nil, err
	}
	if r.Params.LastEventID != nil {
		id, err := strconv.ParseInt(*r.Params.LastEventID, 10, 64)
		if err != nil { // the pattern allows only what parses
			return nil, badRequest("Invalid request: Last-Event-ID is not a position.", api.FieldError{Field: "Last-Event-ID", Message: "must be a position"})
		}
		q.After = id
	}
	release, err := h.streams.acquire(ctx, h.feedCfg.MaxStreams, h.feedCfg.MaxStreamsPerCaller)
	if err != nil {
		return nil, err
	}
	return &eventStream{h: h, ctx: ctx, q: q, head: isHead(ctx), release: release}, nil
}

// streamSlots counts the open event streams, in all and per caller.
type streamSlots struct {
	mu       sync.Mutex
	open     int
	byCaller map[string]int
}

// acquire takes a stream's place, or answers why there is none: the process serves
// max streams (503 too_many_streams), or the caller holds perCaller (429
// too_many_caller_streams); 0 is no bound. release gives the place back.
func (s *streamSlots) acquire(ctx context.Context, maxStreams, perCaller int) (release func(), err error) {
	caller := ""
	if p, ok := appkit.PrincipalFrom(ctx); ok {
		caller = p.Subject
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if maxStreams > 0 && s.open >= maxStreams {
		return nil, &requestError{status: http.StatusServiceUnavailable, code: "too_many_streams", title: "Too many streams",
			detail: "This instance serves as many event streams as it may; reconnect later with Last-Event-ID, or page with GET /events."}
	}
	if caller != "" && perCaller > 0 && s.byCaller[caller] >= perCaller {
		return nil, &requestError{status: http.StatusTooManyRequests, code: "too_many_caller_streams", title: "Too many streams for this caller",
			detail: "This caller already holds as many event streams as one caller may on this instance; close one, or reconnect later with Last-Event-ID."}
	}
	s.open++
	if caller != "" {
		if s.byCaller == nil {
			s.byCaller = map[string]int{}
		}
		s.byCaller[caller]++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.open--
			if caller != "" {
				if s.byCaller[caller]--; s.byCaller[caller] <= 0 {
					delete(s.byCaller, caller)
				}
			}
		})
	}, nil
}

// eventStream is the response of GET /events/stream: its Visit method writes the
// stream until the client goes, the server shuts down, the client reads too slowly
// or the stream's lifetime ends.
type eventStream struct {
	h    *Handlers
	ctx  context.Context
	q    feed.Query
	head bool
	// release gives the stream's place back (streamSlots.acquire).
	release func()
}

func (s *eventStream) VisitStreamEventsResponse(w http.ResponseWriter) error {
	h, ctx := s.h, s.ctx
	defer s.release()
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Accel-Buffering", "no") // proxies: pass each message on at once
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if s.head {
		return nil
	}
	// The server's read and write timeouts are for ordinary requests; a stream sets
	// its own write deadline per page and needs no read deadline.
	_ = rc.SetReadDeadline(time.Time{})
	cfg := h.feedCfg
	buf := bufio.NewWriterSize(w, 32<<10)
	// arm gives the client WriteTimeout to take what is written next; it is called
	// before anything is written (a full buffer writes to the connection at once), so
	// an old deadline never cuts off a stream that was merely idle.
	arm := func() error {
		if err := rc.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout)); err != nil && cfg.WriteTimeout > 0 {
			return err
		}
		return nil
	}
	flush := func() error {
		if err := buf.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	log := func(reason string, after int64) {
		h.log.InfoContext(ctx, "event stream ended", "reason", reason, "position", after)
	}
	if err := arm(); err != nil {
		return nil
	}
	if err := writeSSE(buf, ": stream after "+strconv.FormatInt(s.q.After, 10)+"\n\n"); err != nil {
		return nil
	}
	if err := flush(); err != nil {
		log("client gone", s.q.After)
		return nil
	}

	unsubscribe := h.feed.Subscribe()
	defer unsubscribe()
	heartbeat := time.NewTimer(cfg.Heartbeat)
	defer heartbeat.Stop()
	var lifetime <-chan time.Time
	if cfg.MaxLifetime > 0 {
		t := time.NewTimer(cfg.MaxLifetime)
		defer t.Stop()
		lifetime = t.C
	}
	q := s.q
	sent := q.After // the last id the client was given
	for {
		horizon, changed := h.feed.Head()
		if horizon > q.After {
			page, err := h.feed.PageUpTo(ctx, q, horizon)
			if err != nil {
				if ctx.Err() != nil {
					log("client gone", q.After)
					return nil
				}
				h.log.WarnContext(ctx, "event stream: read a page; retrying", "error", err.Error())
				select {
				case <-ctx.Done():
					return nil
				case <-cfg.Shutdown:
					return nil
				case <-time.After(time.Second):
				}
				continue
			}
			if err := arm(); err != nil {
				log("client too slow or gone", sent)
				return nil
			}
			for _, e := range page.Events {
				item, err := toFeedEvent(e)
				if err != nil {
					return err
				}
				data, err := json.Marshal(item)
				if err != nil {
					return err
				}
				_, _ = fmt.Fprintf(buf, "id: %d\nevent: %s\ndata: %s\n\n", e.Position, e.Type, data)
				sent = e.Position
			}
			q.After = page.NextAfter
			if q.After > sent && page.AtHead {
				// Filtered-out events: move the client's resume position past them.
				_, _ = fmt.Fprintf(buf, "id: %d\n\n", q.After)
				sent = q.After
			}
			if buf.Buffered() > 0 {
				if err := flush(); err != nil {
					log("client too slow or gone", sent)
					return nil
				}
				heartbeat.Reset(cfg.Heartbeat)
			}
			if !page.AtHead {
				select {
				case <-ctx.Done():
					log("client gone", sent)
					return nil
				case <-cfg.Shutdown:
					log("shutdown", sent)
					return nil
				default:
					continue
				}
			}
		}
		select {
		case <-ctx.Done():
			log("client gone", sent)
			return nil
		case <-cfg.Shutdown:
			log("shutdown", sent)
			return nil
		case <-lifetime:
			log("lifetime", sent)
			return nil
		case <-changed:
		case <-heartbeat.C:
			if err := arm(); err != nil {
				log("client too slow or gone", sent)
				return nil
			}
			_ = writeSSE(buf, ": heartbeat\n\n")
			if err := flush(); err != nil {
				log("client too slow or gone", sent)
				return nil
			}
			heartbeat.Reset(cfg.Heartbeat)
		}
	}
}

func writeSSE(w *bufio.Writer, s string) error {
	_, err := w.WriteString(s)
	return err
}

// isHead reports whether the client sent HEAD (headAsGet routes it as GET).
func isHead(ctx context.Context) bool {
	v, _ := ctx.Value(headRequestKey{}).(bool)
	return v
}

type headRequestKey struct{}
