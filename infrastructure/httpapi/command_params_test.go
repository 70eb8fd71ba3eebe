package httpapi

import (
	"testing"

	"github.com/example/orders/api"
)

// A cancellation's reason is the body's, or "" without a body or without a reason; the
// body fingerprinted always carries the reason, so that absent and empty are one request.
func TestCancellationReadsAnOptionalReason(t *testing.T) {
	because := "changed my mind"
	for _, c := range []struct {
		name string
		body *api.CancelRequest
		want string
	}{
		{"no body", nil, ""},
		{"no reason", &api.CancelRequest{}, ""},
		{"a reason", &api.CancelRequest{Reason: &because}, because},
	} {
		reason, body := cancellation(c.body)
		if reason != c.want || body.Reason == nil || *body.Reason != c.want {
			t.Errorf("%s: cancellation = %q, %+v; want %q in both", c.name, reason, body, c.want)
		}
	}
}

// value is an optional parameter's value, or its type's zero when absent.
func TestValueOfAnOptionalParameter(t *testing.T) {
	limit := 7
	if got := value(&limit); got != 7 {
		t.Errorf("value(&7) = %d", got)
	}
	if got := value[int](nil); got != 0 {
		t.Errorf("value(nil) = %d", got)
	}
}
