package appkit

import (
	"strings"
	"testing"
)

func TestCompleteNamesEveryFieldNotSet(t *testing.T) {
	type parts struct {
		Store   interface{ Load() }
		Handler *int
		Hook    func()
		Count   int // not a reference: never missing
	}
	n := 1
	if err := Complete(parts{Handler: &n, Hook: func() {}, Store: stubStore{}}); err != nil {
		t.Fatal(err)
	}
	err := Complete(parts{Hook: func() {}})
	if err == nil || !strings.Contains(err.Error(), "parts.Store is not set") || !strings.Contains(err.Error(), "parts.Handler is not set") || strings.Contains(err.Error(), "Hook") || strings.Contains(err.Error(), "Count") {
		t.Fatalf("err = %v, want Store and Handler named, and only them", err)
	}
	if err := Complete(&n); err == nil {
		t.Fatal("a pointer to an int was taken for a struct")
	}
}

type stubStore struct{}

func (stubStore) Load() {}
