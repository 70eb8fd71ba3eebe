package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
)

func TestContextAttributesReachEveryLine(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "info")
	if err != nil {
		t.Fatal(err)
	}
	ctx := With(context.Background(), slog.String("request_id", "r-1"))
	log.With("component", "test").InfoContext(ctx, "hello")
	log.DebugContext(ctx, "hidden at info level")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("one JSON line expected, got %q: %v", buf.String(), err)
	}
	if line["request_id"] != "r-1" || line["component"] != "test" || line["msg"] != "hello" {
		t.Fatalf("line %v", line)
	}
	if _, err := New(&buf, "loud"); err == nil {
		t.Fatal("an unknown level was accepted")
	}
}
