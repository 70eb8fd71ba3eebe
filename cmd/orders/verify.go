package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"strings"

	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres"
	"github.com/example/orders/infrastructure/postgres/customersummary"
	"github.com/example/orders/infrastructure/postgres/verify"
	"github.com/example/orders/infrastructure/wiring"
)

// exitError is an error of run that asks for a particular exit code. Any other error
// exits with 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitCode is the process's exit code for run's error.
func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	if err != nil {
		return 1
	}
	return 0
}

// SkippedStreamType starts the line verify prints for each stream type that no
// registered aggregate has (runVerify).
const SkippedStreamType = "verify: skipped stream type"

// Exit codes of `orders verify` (and of `orders rebuild NAME` with an unknown NAME).
const (
	verifyDifferences = 1 // it ran, and the log and the read models disagree
	verifyFailed      = 2 // it could not check (configuration, connection, schema, usage)
)

// runVerify checks the event log and every registered read model (wiring.ReadModels)
// against each other and prints one line per difference and a summary line to out. It
// exits 0 when they agree, 1 when they differ and 2 when it could not tell.
//
// A stream type that no registered aggregate has is the history of one that was
// removed (make remove-example, or one of your own): the log keeps its events, nothing
// reads them any more, and there is no read model to compare them with. verify checks
// those streams' versions and heads like any other, prints one SkippedStreamType line
// per type, and passes: otherwise removing an aggregate would make verify fail for
// ever after, and an operator would learn to ignore it. The tests that run verify
// after exercising every aggregate fail on that line, so an aggregate whose read model
// is left out of infrastructure/wiring does not go unnoticed.
func runVerify(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	failed := func(err error) error { return &exitError{code: verifyFailed, err: err} }
	cfg, err := parseConfig("verify", args, getenv)
	if err != nil {
		return failed(err)
	}
	pool, err := postgres.Connect(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return failed(err)
	}
	defer pool.Close()
	w := bufio.NewWriter(out)
	sum, err := verify.Verify(ctx, pool, wiring.ReadModels(), func(d verify.Difference) { _, _ = fmt.Fprintln(w, d) },
		verify.LogOnly(wiring.LogOnlyStreamTypes()...), verify.Unregistered(func(streamType string, streams int64) {
			noun := "streams"
			if streams == 1 {
				noun = "stream"
			}
			_, _ = fmt.Fprintf(w, "%s %q (%d %s): no registered aggregate has it; versions and heads checked, events not (a removed aggregate's history)\n",
				SkippedStreamType, streamType, streams, noun)
		}))
	if err != nil {
		_ = w.Flush()
		return failed(err)
	}
	_, _ = fmt.Fprintln(w, sum)
	// The asynchronous customer_summary against a fold of the log up to the position it
	// reflects: the registry above is for inline read models, one row set per stream at
	// the stream's version, which an async read model at a log position is not.
	var summaryDiffs int64
	checked, err := customersummary.Verify(ctx, pool, eventcodec.NewOrderRegistry(), func(d string) { summaryDiffs++; _, _ = fmt.Fprintln(w, d) })
	if err != nil {
		_ = w.Flush()
		return failed(fmt.Errorf("verify customer_summary: %w", err))
	}
	if checked > 0 || summaryDiffs > 0 {
		_, _ = fmt.Fprintf(w, "verify: customer_summary: %d orders checked, %d differences\n", checked, summaryDiffs)
	}
	sum.Differences += summaryDiffs
	if err := w.Flush(); err != nil {
		return failed(fmt.Errorf("verify: write the report: %w", err))
	}
	if sum.Differences > 0 {
		return &exitError{code: verifyDifferences, err: fmt.Errorf("verify: %d differences", sum.Differences)}
	}
	return nil
}

// runRebuild recomputes the registered read models (readModels) from the events, or
// only the one named by its first argument (`orders rebuild order_overview`), and
// prints a line for each. Commands wait while a read model is rebuilt. An unknown name
// exits 2, listing the known ones.
func runRebuild(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	models := wiring.ReadModels()
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name := args[0]
		args = args[1:]
		var known []string
		var picked []verify.ReadModel
		for _, m := range models {
			known = append(known, m.Name())
			if m.Name() == name {
				picked = append(picked, m)
			}
		}
		if len(picked) == 0 {
			return &exitError{code: verifyFailed, err: fmt.Errorf("rebuild: no read model %q; known: %s", name, strings.Join(known, ", "))}
		}
		models = picked
	}
	cfg, err := parseConfig("rebuild", args, getenv)
	if err != nil {
		return err
	}
	pool, err := postgres.Connect(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	// One transaction per read model: each locks only its own tables, and one that
	// fails leaves the ones rebuilt before it rebuilt.
	for _, m := range models {
		sum, err := verify.Rebuild(ctx, pool, m)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintln(out, sum); err != nil {
			return err
		}
	}
	return nil
}
