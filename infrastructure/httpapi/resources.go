package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/application/appkit"
)

// The GET endpoints every aggregate owned by a customer shares: one resource (as of a
// version or a time when asked), a page of a list, a page of its history. Each renders
// a response; an aggregate's file declares its Visit<Op>Response methods on
// storedResponse, so that it satisfies the generated response interfaces.

// getResource answers GET of one resource: as it was at version or at (when either is
// given, folded from its events), else from its read model; 304 when If-None-Match
// names its version.
func getResource[C, E, S any](ctx context.Context, reads appkit.Owned[C, E, S], id uuid.UUID, version *int64, at *time.Time,
	ifNoneMatch *string, present presenter[S]) (storedResponse, error) {
	var v appkit.Versioned[S]
	var err error
	if version != nil || at != nil {
		var n int64
		if version != nil {
			n = *version
		}
		v, err = reads.AsOf(ctx, id, n, at)
	} else {
		v, err = reads.Get(ctx, id)
	}
	if err != nil {
		return storedResponse{}, err
	}
	headers := map[string]string{"ETag": etag(v.Version)}
	if ifNoneMatchHits(ifNoneMatch, v.Version) {
		return storedResponse{resp: response{Status: http.StatusNotModified, Headers: headers}}, nil
	}
	representation, _ := present(v)
	return jsonResponse(headers, representation)
}

// listPage answers a page of a list: {"items": [...], "next_cursor": ...}, or err
// when the list failed.
func listPage[T, A any](page appkit.Page[T], err error, present func(T) A) (storedResponse, error) {
	if err != nil {
		return storedResponse{}, err
	}
	out := struct {
		Items      []any   `json:"items"`
		NextCursor *string `json:"next_cursor,omitempty"`
	}{Items: make([]any, len(page.Items))}
	for i, item := range page.Items {
		out.Items[i] = present(item)
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	return jsonResponse(nil, out)
}

// historyPage answers a page of a resource's events.
func historyPage[C, E, S any](ctx context.Context, reads appkit.Owned[C, E, S], id uuid.UUID, after *int64, limit *int) (storedResponse, error) {
	q := appkit.HistoryQuery{ID: id}
	if after != nil {
		q.After = *after
	}
	if limit != nil {
		q.Limit = *limit
	}
	page, err := reads.History(ctx, q)
	if err != nil {
		return storedResponse{}, err
	}
	out, err := toAPIEvents(page)
	if err != nil {
		return storedResponse{}, err
	}
	return jsonResponse(nil, out)
}

// jsonResponse is a 200 with body as JSON.
func jsonResponse(headers map[string]string, body any) (storedResponse, error) {
	encoded, err := json.Marshal(body)
	if err != nil {
		return storedResponse{}, err
	}
	return storedResponse{resp: response{Status: http.StatusOK, ContentType: "application/json", Headers: headers, Body: append(encoded, '\n')}}, nil
}
