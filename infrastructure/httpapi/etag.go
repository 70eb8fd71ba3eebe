package httpapi

import (
	"strconv"
	"strings"

	"github.com/example/orders/api"
)

// An order's ETag is its version as a strong entity tag: "3".
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// parseIfMatch reads If-Match as one strong tag holding a version. "*" (any current
// representation) names no version.
func parseIfMatch(h *string) (*int64, error) {
	if h == nil {
		return nil, nil
	}
	v := strings.TrimSpace(*h)
	if v == "*" {
		return nil, nil
	}
	bad := badRequest(`If-Match must be one strong ETag holding the order's version, such as "3".`,
		api.FieldError{Field: "If-Match", Message: `must be a strong ETag such as "3"`})
	if len(v) < 3 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, bad
	}
	n, err := strconv.ParseInt(v[1:len(v)-1], 10, 64)
	if err != nil || n < 1 {
		return nil, bad
	}
	return &n, nil
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
