package main

import (
	"slices"
	"strings"
	"testing"
)

// TestCPUTargetShowsEachRoundsRatio: the verdict stays on the medians, and the value
// shows the service's ratio in each round, pairing the runs of the same round.
func TestCPUTargetShowsEachRoundsRatio(t *testing.T) {
	svc := result{CPU: cpuPerOp{Service: 0.2}, CPURuns: []cpuPerOp{{Service: 0.3}, {Service: 0.2}, {Service: 0.15}}}
	crud := result{CPU: cpuPerOp{CRUD: 0.1}, CPURuns: []cpuPerOp{{CRUD: 0.2}, {CRUD: 0.1}, {CRUD: 0.1}}}
	if got, want := roundRatios(svc.CPURuns, crud.CPURuns), []string{"1.50x", "2.00x", "1.50x"}; !slices.Equal(got, want) {
		t.Fatalf("roundRatios = %v, want %v", got, want)
	}
	ts := cpuTargets("place order", 8, svc, crud)
	if len(ts) == 0 || ts[0].Met || !strings.Contains(ts[0].Value, "2.00x (200 vs 100 µs); by round 1.50x, 2.00x, 1.50x") {
		t.Fatalf("cpuTargets = %+v: want the medians' 2.00x, not met, then each round's ratio", ts)
	}
	if got := roundRatios(svc.CPURuns, crud.CPURuns[:2]); got != nil {
		t.Fatalf("runs that do not pair up: %v, want none", got)
	}
	if got := roundRatios(svc.CPURuns, []cpuPerOp{{CRUD: 0.1}, {}, {CRUD: 0.1}}); got != nil {
		t.Fatalf("a round without the CRUD server's CPU: %v, want none", got)
	}
}
