package httpapi

import (
	"strconv"
	"strings"

	"github.com/example/orders/api"
)

// A resource's ETag is its version as a strong entity tag: "3".
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// entityTag is one tag of an If-Match or If-None-Match list.
type entityTag struct {
	weak   bool
	opaque string // without the quotes
}

// parseETags reads `*` or a comma-separated list of entity tags (RFC 9110 §8.8.3).
// wildcard reports `*`; ok is false when the value is not of that form.
func parseETags(v string) (tags []entityTag, wildcard, ok bool) {
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

// parseIfMatch turns If-Match into the versions a command may find; nil (no header,
// or `*`) means no precondition. If-Match uses strong comparison (RFC 9110 §13.1.1), so
// weak tags and tags that are not versions never match: a header with no version in it
// asks for version 0, which no existing stream has, and the command answers 412 (or
// 404 when the stream does not exist either).
func parseIfMatch(header *string) ([]int64, error) {
	if header == nil {
		return nil, nil
	}
	tags, wildcard, ok := parseETags(*header)
	if !ok {
		return nil, badRequest(`If-Match must be * or one or more entity tags, such as "3".`,
			api.FieldError{Field: "If-Match", Message: `must be *, or one or more entity tags such as "3"`})
	}
	if wildcard {
		return nil, nil
	}
	versions := []int64{}
	for _, t := range tags {
		if n, err := strconv.ParseInt(t.opaque, 10, 64); err == nil && !t.weak && n >= 1 && strconv.FormatInt(n, 10) == t.opaque {
			versions = append(versions, n)
		}
	}
	if len(versions) == 0 {
		versions = append(versions, 0)
	}
	return versions, nil
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
