package orderstore

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/kit"
	"github.com/example/orders/domain/order"
)

// seeded is a reproducible source of test data.
func seeded(a, b uint64) *rand.Rand {
	return rand.New(rand.NewPCG(a, b)) //nolint:gosec // test data, not secrets
}

func stateWithLines(n int, r *rand.Rand) order.State {
	placed := time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC)
	s := order.State{
		ID: uuid.New(), CustomerID: "customer-ü-" + fmt.Sprint(n), Currency: "EUR", Status: order.StatusPending,
		PlacedAt: placed, UpdatedAt: placed.Add(time.Duration(n) * time.Second),
	}
	for i := range n {
		l := order.Line{SKU: fmt.Sprintf("SKU-%05d-%s", i, "αβ"[:r.IntN(2)*2]), Quantity: 1 + r.IntN(1000), UnitPriceCents: r.Int64N(1 << 40)}
		s.Lines = append(s.Lines, l)
		s.UnitCount += l.Quantity
		s.TotalCents += int64(l.Quantity) * l.UnitPriceCents
	}
	return s
}

func TestStateCodecRoundTrips(t *testing.T) {
	r := seeded(1, 2)
	states := []order.State{order.Initial(), {Status: order.StatusCancelled, Lines: []order.Line{{SKU: "", Quantity: -1, UnitPriceCents: -5}}}}
	for _, n := range []int{0, 1, 2, 17, 1000} {
		states = append(states, stateWithLines(n, r))
	}
	for i, s := range states {
		b, err := encodeState(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeState(b)
		if err != nil {
			t.Fatalf("state %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, s) {
			t.Fatalf("state %d: decoded %+v, want %+v", i, got, s)
		}
	}
	// A time keeps its instant and offset.
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("", 5*3600+1800))
	b, err := encodeState(order.State{PlacedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeState(b)
	if _, off := got.PlacedAt.Zone(); err != nil || !got.PlacedAt.Equal(at) || off != 5*3600+1800 {
		t.Fatalf("decoded %v (%v), want %v", got.PlacedAt, err, at)
	}
}

// A damaged snapshot is an error (the store then folds the stream), never a panic or
// a huge allocation.
func TestStateCodecRejectsCorruptSnapshots(t *testing.T) {
	r := seeded(3, 4)
	b, err := encodeState(stateWithLines(40, r))
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		if _, err := decodeState(b[:n]); err == nil {
			t.Fatalf("a snapshot cut to %d of %d bytes decoded", n, len(b))
		}
	}
	if _, err := decodeState(append(b[:len(b):len(b)], 0)); err == nil {
		t.Fatal("a snapshot with a trailing byte decoded")
	}
	if _, err := decodeState([]byte(`{"Status":"pending"}`)); err == nil {
		t.Fatal("a JSON snapshot decoded")
	}
	for range 5000 {
		c := append([]byte(nil), b...)
		for range 1 + r.IntN(4) {
			c[r.IntN(len(c))] ^= byte(1) << r.IntN(8)
		}
		_, _ = decodeState(c) // must not panic
	}
}

func FuzzDecodeState(f *testing.F) {
	b, _ := encodeState(stateWithLines(3, seeded(5, 6)))
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeState(b)
		if err != nil {
			return
		}
		again, err := encodeState(s)
		if err != nil {
			t.Fatal(err)
		}
		if s2, err := decodeState(again); err != nil || !reflect.DeepEqual(s, s2) {
			t.Fatalf("re-encoded state decodes to %+v (%v), want %+v", s2, err, s)
		}
	})
}

// Reading back the snapshot of a 10,000-line order: the binary layout against the JSON
// the snapshots held before (docs/benchmarks.md).
func BenchmarkDecodeStateSnapshot(b *testing.B) {
	s := stateWithLines(10000, seeded(7, 8))
	bin, err := encodeState(s)
	if err != nil {
		b.Fatal(err)
	}
	js, err := json.Marshal(s)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("binary", func(b *testing.B) {
		b.ReportMetric(float64(len(bin))/1024, "KiB")
		for b.Loop() {
			if _, err := decodeState(bin); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportMetric(float64(len(js))/1024, "KiB")
		for b.Loop() {
			var got order.State
			if err := json.Unmarshal(js, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Every field of order.State and order.Line survives the codec: the state is filled
// field by field through reflection, so a field added to the state but not to the
// codec comes back zero and fails here (update state_codec.go and bump
// StateSchemaVersion).
func TestStateCodecKeepsEveryField(t *testing.T) {
	r := seeded(9, 10)
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Interface().(type) {
		case time.Time:
			v.Set(reflect.ValueOf(time.Unix(r.Int64N(1<<32), r.Int64N(1e9)).UTC()))
			return
		case uuid.UUID:
			v.Set(reflect.ValueOf(uuid.New()))
			return
		case kit.Personal[order.Contact]: // a snapshot keeps it sealed
			var p kit.Personal[order.Contact]
			sealed := fmt.Sprintf(`{"pii_subject":"s%d","pii_key":%q,"pii_sealed":"AAEC%dA=="}`, r.IntN(1000), uuid.New(), r.IntN(10))
			if err := json.Unmarshal([]byte(sealed), &p); err != nil {
				t.Fatal(err)
			}
			v.Set(reflect.ValueOf(p))
			return
		}
		switch v.Kind() {
		case reflect.Struct:
			for i := range v.NumField() {
				fill(v.Field(i))
			}
		case reflect.String:
			v.SetString(fmt.Sprintf("s%d", r.IntN(1000)))
		case reflect.Int, reflect.Int64:
			v.SetInt(1 + r.Int64N(1<<30))
		case reflect.Slice:
			s := reflect.MakeSlice(v.Type(), 3, 3)
			for i := range 3 {
				fill(s.Index(i))
			}
			v.Set(s)
		default:
			t.Fatalf("order.State has a %s field the codec test does not know: extend the codec and this test", v.Type())
		}
	}
	var s order.State
	fill(reflect.ValueOf(&s).Elem())
	b, err := encodeState(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeState(b)
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("decoded %+v (%v), want %+v", got, err, s)
	}
}

// A snapshot never holds personal data in clear: the store folds sealed events, and
// the codec refuses a clear contact should one ever reach it.
func TestStateCodecRefusesClearPersonalData(t *testing.T) {
	s := order.State{ID: uuid.New(), CustomerID: "alice", Contact: kit.Clear("alice", order.Contact{Name: "Alice"})}
	if _, err := encodeState(s); err == nil || !strings.Contains(err.Error(), "never clear") {
		t.Fatalf("encoding a clear contact: %v", err)
	}
}
