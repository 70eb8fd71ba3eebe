package httpapi

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/example/orders/api"
	"github.com/example/orders/domain/order"
)

// An order's ETag is its version as a strong entity tag: "3".
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// entityTag is one tag of an If-Match or If-None-Match list.
type entityTag struct {
	weak   bool
	opaque string // without the quotes
}

// parseETags reads `*` or a comma-separated list of entity tags (RFC 9110 §8.8.3).
// any reports `*`; ok is false when the value is not of that form.
func parseETags(v string) (tags []entityTag, any, ok bool) {
	v = strings.Trim(v, " \t")
	if v == "*" {
		return nil, true, true
	}
	for {
		v = strings.TrimLeft(v, " \t")
		var t entityTag
		if strings.HasPrefix(v, "W/") {
			t.weak, v = true, v[2:]
		}
		if !strings.HasPrefix(v, `"`) {
			return nil, false, false
		}
		end := strings.IndexByte(v[1:], '"')
		if end < 0 {
			return nil, false, false
		}
		t.opaque, v = v[1:1+end], strings.TrimLeft(v[2+end:], " \t")
		for _, c := range []byte(t.opaque) {
			if c < 0x21 || c == '"' || c == 0x7F {
				return nil, false, false
			}
		}
		tags = append(tags, t)
		if v == "" {
			return tags, false, true
		}
		if v[0] != ',' {
			return nil, false, false
		}
		v = v[1:]
	}
}

// noVersion is an expected version no order has: a precondition that cannot hold.
// A missing order (version 0) still answers 404 rather than 412.
const noVersion int64 = 0

// expectedVersion turns If-Match into the version a command must find. `*` and no
// header mean no precondition. If-Match uses strong comparison (RFC 9110 §13.1.1),
// so weak tags and tags that are not versions never match: the command then gets a
// version that cannot hold and is answered 412. A list with several versions is
// resolved against the order's current version, which the command checks again in
// its transaction.
func (h *Handlers) expectedVersion(ctx context.Context, header *string, id uuid.UUID) (*int64, error) {
	if header == nil {
		return nil, nil
	}
	tags, any, ok := parseETags(*header)
	if !ok {
		return nil, badRequest(`If-Match must be * or one or more entity tags, such as "3".`,
			api.FieldError{Field: "If-Match", Message: `must be *, or one or more entity tags such as "3"`})
	}
	if any {
		return nil, nil
	}
	var versions []int64
	for _, t := range tags {
		if n, err := strconv.ParseInt(t.opaque, 10, 64); err == nil && !t.weak && n >= 1 && strconv.FormatInt(n, 10) == t.opaque {
			versions = append(versions, n)
		}
	}
	switch len(versions) {
	case 0:
		v := noVersion
		return &v, nil
	case 1:
		return &versions[0], nil
	}
	current, err := h.app.Queries.GetOrder.Handle(ctx, id)
	if errors.Is(err, order.ErrNotFound) {
		return nil, nil // the command answers 404
	}
	if err != nil {
		return nil, err
	}
	for _, v := range versions {
		if v == current.Version {
			return &v, nil
		}
	}
	v := noVersion
	return &v, nil
}

// ifNoneMatchHits reports whether If-None-Match names the current version. It uses
// the weak comparison RFC 9110 prescribes for If-None-Match, so W/"3" matches "3".
func ifNoneMatchHits(h *string, version int64) bool {
	if h == nil {
		return false
	}
	current := etag(version)
	for _, tag := range strings.Split(*h, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == current {
			return true
		}
	}
	return false
}
