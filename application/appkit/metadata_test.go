package appkit

import (
	"context"
	"encoding/json"
	"testing"
)

func TestMetadataTravelsInTheContext(t *testing.T) {
	if md := MetadataFrom(context.Background()); md != (Metadata{}) {
		t.Fatalf("a context without metadata gave %+v", md)
	}
	md := Metadata{CorrelationID: "corr", CausationID: "req-1", IssuedBy: "http POST /orders", Actor: "alice", Command: "PlaceOrder", Traceparent: "00-abc-def-01"}
	if got := MetadataFrom(WithMetadata(context.Background(), md)); got != md {
		t.Fatalf("MetadataFrom = %+v, want %+v", got, md)
	}
}

// The metadata's JSON is stored with every event and read by consumers (the trace
// context, the actor): its keys are pinned, and empty fields are left out.
func TestMetadataJSON(t *testing.T) {
	md := Metadata{CorrelationID: "corr", CausationID: "req-1", IssuedBy: "http POST /orders", Actor: "alice", Command: "PlaceOrder", Traceparent: "00-abc-def-01"}
	got, err := json.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"correlation_id":"corr","causation_id":"req-1","issued_by":"http POST /orders","actor":"alice","command":"PlaceOrder","traceparent":"00-abc-def-01"}`
	if string(got) != want {
		t.Fatalf("metadata JSON\n%s\nwant\n%s", got, want)
	}
	if empty, _ := json.Marshal(Metadata{}); string(empty) != "{}" {
		t.Fatalf("empty metadata JSON %s, want {}", empty)
	}
}
