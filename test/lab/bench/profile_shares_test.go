package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/example/orders/infrastructure/servicename"
)

// A profile of a loop that only encodes JSON is mostly "JSON", and the shares add up
// to one.
func TestProfileSharesSortSamples(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	type line struct {
		SKU      string `json:"sku"`
		Quantity int    `json:"quantity"`
	}
	v := map[string]any{"order_id": "0190a4e8-0000-7000-8000-000000000000", "lines": make([]line, 200)}
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		for range 20 { // the loop's own time (and -race's) stays small next to the encoding
			if _, err := json.Marshal(v); err != nil {
				t.Fatal(err)
			}
		}
	}
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	shares, err := readProfileShares(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, s := range shares {
		sum += s
	}
	if math.Abs(sum-1) > 1e-6 {
		t.Fatalf("shares add up to %f: %v", sum, shares)
	}
	// Under -race, samples inside the race detector's C code carry no Go callers and
	// count as the runtime (73 % of them in one CI run on a busy machine); of the rest,
	// a JSON loop's are JSON's, but for garbage collection, which a loaded machine
	// makes larger (10 % in one CI run). The floor only catches a classifier that lost JSON.
	jsonShare := shares["JSON (request decode, response and event encode)"]
	if jsonShare < 0.1 || jsonShare < 0.8*(1-shares[runtimeRestShare]-shares[gcShare]) {
		t.Fatalf("JSON has %.2f of a JSON loop's samples: %v", jsonShare, shares)
	}
	// A function's share counts every sample it is on, as JSON's category did; one that
	// never ran has none.
	if share, err := readFrameShare(context.Background(), path, "encoding/json.Marshal"); err != nil || share < jsonShare {
		t.Fatalf("encoding/json.Marshal's share %.2f (%v), below JSON's category (%.2f)", share, err, jsonShare)
	}
	if share, err := readFrameShare(context.Background(), path, sealFrame); err != nil || share != 0 {
		t.Fatalf("%s's share %.2f (%v), in a loop that never seals", sealFrame, share, err)
	}
}

// The service's own frames are recognised by the module path, whatever `make rename`
// made it.
func TestClassifyFindsTheServicesFrames(t *testing.T) {
	frames := []string{"runtime.memmove", servicename.ModulePath + "/domain/order.Decide", "main.main"}
	if got := classify(frames); got != "service code (handlers, runner, decider, codec, ids)" {
		t.Errorf("classify(%q) = %q", frames, got)
	}
}
