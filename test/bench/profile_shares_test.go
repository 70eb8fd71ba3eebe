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
	v := map[string]any{"order_id": "0190a4e8-0000-7000-8000-000000000000", "lines": []int{1, 2, 3, 4, 5, 6, 7, 8}}
	for end := time.Now().Add(500 * time.Millisecond); time.Now().Before(end); {
		if _, err := json.Marshal(v); err != nil {
			t.Fatal(err)
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
	if s := shares["JSON (request decode, response and event encode)"]; s < 0.5 {
		t.Fatalf("JSON has %.2f of a JSON loop's samples: %v", s, shares)
	}
}
