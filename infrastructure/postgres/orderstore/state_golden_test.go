package orderstore

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
	"github.com/example/orders/domain/order"
)

var updateGolden = flag.Bool("update", false, "write the golden snapshot of the current StateSchemaVersion if it does not exist yet")

// goldenState sets every field of order.State (and of its lines) to something other
// than its zero value, so that no field can be left out of the layout unnoticed.
func goldenState() order.State {
	placed := time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC)
	return order.State{
		ID:         uuid.MustParse("0193a5b0-7c1e-7d4f-8a2b-3c4d5e6f7a8b"),
		CustomerID: "customer-ü",
		Currency:   "EUR",
		Status:     order.StatusConfirmed,
		Lines: []order.Line{
			{SKU: "book", Quantity: 2, UnitPriceCents: 1250},
			{SKU: "αβ-pen", Quantity: 300, UnitPriceCents: 1 << 40},
		},
		TotalCents: 2*1250 + 300*(1<<40),
		UnitCount:  302,
		PlacedAt:   placed,
		UpdatedAt:  placed.Add(90 * time.Minute).In(time.FixedZone("CET", 3600)),
		Contact:    goldenContact(),
	}
}

func goldenContact() kit.Personal[order.Contact] {
	var p kit.Personal[order.Contact]
	if err := json.Unmarshal([]byte(`{"pii_subject":"customer-ü","pii_key":"0193a5b0-0000-7000-8000-000000000001","pii_sealed":"c2VhbGVk"}`), &p); err != nil {
		panic(err)
	}
	return p
}

// The snapshot layout is pinned by a golden file per StateSchemaVersion: changing how
// an order.State is encoded (or what it holds) without bumping StateSchemaVersion would
// let a new binary read old snapshots as something else, so it fails here.
func TestStateCodecMatchesItsGoldenSnapshot(t *testing.T) {
	s := goldenState()
	assertEveryFieldSet(t, reflect.ValueOf(s), "order.State")

	got, err := encodeState(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeState(got)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalizeTimes(back), normalizeTimes(s)) {
		t.Fatalf("the golden state does not survive a round trip (a field the layout leaves out?):\n got %+v\nwant %+v\nEncode and decode every field, then bump StateSchemaVersion in state_codec.go and run: go test ./infrastructure/postgres/orderstore -run TestStateCodecMatchesItsGoldenSnapshot -update", back, s)
	}

	path := filepath.Join("testdata", fmt.Sprintf("state_v%d.golden", StateSchemaVersion))
	want, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && *updateGolden:
		if err := os.WriteFile(path, []byte(hexLines(got)), 0o644); err != nil { //nolint:gosec // a checked-in test file
			t.Fatal(err)
		}
		t.Logf("wrote %s; delete the golden files of older versions", path)
		return
	case errors.Is(err, fs.ErrNotExist):
		t.Fatalf("no golden snapshot for StateSchemaVersion %d (%s): run go test ./infrastructure/postgres/orderstore -run TestStateCodecMatchesItsGoldenSnapshot -update, and delete the golden files of older versions", StateSchemaVersion, path)
	case err != nil:
		t.Fatal(err)
	}
	if !bytes.Equal([]byte(hexLines(got)), want) {
		t.Fatalf("the snapshot layout of order.State changed, but StateSchemaVersion is still %d: "+
			"bump StateSchemaVersion in state_codec.go (snapshots of the old layout are then ignored, not misread), "+
			"then run go test ./infrastructure/postgres/orderstore -run TestStateCodecMatchesItsGoldenSnapshot -update "+
			"and delete %s.\n got %s\nwant %s", StateSchemaVersion, path, hexLines(got), want)
	}
}

// assertEveryFieldSet fails for a field of v left at its zero value: a field added to
// order.State must be set in goldenState (and so be encoded, or the round trip fails).
func assertEveryFieldSet(t *testing.T, v reflect.Value, at string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Struct:
		if p, ok := v.Interface().(kit.Personal[order.Contact]); ok {
			if !p.IsSealed() {
				t.Fatalf("%s is not sealed in goldenState: a snapshot keeps personal data sealed", at)
			}
			return
		}
		if _, ok := v.Interface().(time.Time); ok {
			break
		}
		for i := range v.NumField() {
			assertEveryFieldSet(t, v.Field(i), at+"."+v.Type().Field(i).Name)
		}
		return
	case reflect.Slice:
		for i := range v.Len() {
			assertEveryFieldSet(t, v.Index(i), fmt.Sprintf("%s[%d]", at, i))
		}
	}
	if v.IsZero() {
		t.Fatalf("%s is not set in goldenState: set it, so that the golden snapshot covers it", at)
	}
}

func normalizeTimes(s order.State) order.State {
	s.PlacedAt, s.UpdatedAt = s.PlacedAt.UTC(), s.UpdatedAt.UTC()
	return s
}

// hexLines is b in hex, 32 bytes a line, so that a change shows where it is.
func hexLines(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		n := min(32, len(b))
		sb.WriteString(hex.EncodeToString(b[:n]) + "\n")
		b = b[n:]
	}
	return sb.String()
}
