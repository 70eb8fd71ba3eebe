package personaldata_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/customer"
	"github.com/example/orders/infrastructure/personaldata"
	"github.com/example/orders/test/pgtest"
)

func TestLoadKEKFromTheValueOrTheFile(t *testing.T) {
	text, err := personaldata.NewKEKText()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "kek")
	if err := os.WriteFile(file, []byte(text+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fromValue, err := personaldata.LoadKEK(text, "")
	if err != nil || fromValue == nil {
		t.Fatalf("from the value: %v %v", fromValue, err)
	}
	fromFile, err := personaldata.LoadKEK("", file)
	if err != nil || fromFile == nil || fromFile.ID() != fromValue.ID() {
		t.Fatalf("from the file: %v %v", fromFile, err)
	}
	if k, err := personaldata.LoadKEK("", ""); k != nil || err != nil {
		t.Fatalf("neither: %v %v, want none and no error", k, err)
	}
	if _, err := personaldata.LoadKEK(text, file); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("both: %v", err)
	}
	if _, err := personaldata.LoadKEK("", filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing file loaded")
	}
}

// The eraser deletes the key and records PersonalDataErased in one transaction, only
// when there was a key, and tells AfterCommit.
func TestEraserRecordsTheErasureOnce(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	keys := personaldata.NewKeys(newKEK(t))
	payload := sealed(t, pool, keys, "ivy", "Ivy Compton-Burnett")
	notified := 0
	e := personaldata.Eraser{Pool: pool, AfterCommit: func() { notified++ }}
	at := time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)
	md := appkit.Metadata{CorrelationID: "corr-1", CausationID: "req-1", Actor: "staff", Command: "ErasePersonalData"}
	for i, want := range []bool{true, false} {
		erased, err := e.ErasePersonalData(ctx, customer.PersonalDataErased{CustomerID: "ivy", ErasedAt: at}, md)
		if err != nil || erased != want {
			t.Fatalf("erasure %d: %v %v, want %v", i+1, erased, err, want)
		}
	}
	if notified != 1 {
		t.Fatalf("AfterCommit ran %d times, want once (for the erasure that erased)", notified)
	}
	var n int
	var typ, corr string
	var body []byte
	err := pool.QueryRow(ctx, `SELECT count(*) OVER (), event_type, correlation_id, payload FROM events WHERE stream_type = 'customer' AND stream_id = 'ivy'`).Scan(&n, &typ, &corr, &body)
	if err != nil || n != 1 || typ != personaldata.ErasedEventType || corr != "corr-1" {
		t.Fatalf("the customer's log: %d events, %s, %s (%v)", n, typ, corr, err)
	}
	var recorded customer.PersonalDataErased
	if err := json.Unmarshal(body, &recorded); err != nil || recorded.CustomerID != "ivy" || !recorded.ErasedAt.Equal(at) {
		t.Fatalf("the recorded event: %s", body)
	}
	opened, err := keys.OpenPayloads(ctx, pool, [][]byte{payload})
	if err != nil || !strings.Contains(string(opened[0]), `"erased":true`) {
		t.Fatalf("after the eraser: %s %v", opened, err)
	}
	// A new key after the erasure: a second erasure records a second event.
	sealed(t, pool, keys, "ivy", "Ivy again")
	if erased, err := e.ErasePersonalData(ctx, customer.PersonalDataErased{CustomerID: "ivy", ErasedAt: at.Add(time.Hour)}, md); err != nil || !erased {
		t.Fatalf("erasing the new key: %v %v", erased, err)
	}
	if err := pool.QueryRow(ctx, `SELECT max(stream_version) FROM events WHERE stream_type = 'customer' AND stream_id = 'ivy'`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("the customer's stream is at version %d (%v), want 2", n, err)
	}
}
