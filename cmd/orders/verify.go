package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres"
	"github.com/example/orders/infrastructure/postgres/customersummary"
	"github.com/example/orders/infrastructure/postgres/verify"
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

// Exit codes of `orders verify`.
const (
	verifyDifferences = 1 // it ran, and the log and the read model disagree
	verifyFailed      = 2 // it could not check (configuration, connection, schema)
)

// runVerify checks the event log and the read model against each other and prints one
// line per difference and a summary line to out. It exits 0 when they agree, 1 when
// they differ and 2 when it could not tell.
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
	sum, err := verify.Verify(ctx, pool, eventcodec.NewOrderRegistry(), func(d verify.Difference) { fmt.Fprintln(w, d) })
	if err != nil {
		_ = w.Flush()
		return failed(err)
	}
	fmt.Fprintln(w, sum)
	// The asynchronous customer_summary against a fold of the log up to the position it
	// reflects (until the verify generalisation gives read models a registry).
	var summaryDiffs int64
	checked, err := customersummary.Verify(ctx, pool, eventcodec.NewOrderRegistry(), func(d string) { summaryDiffs++; fmt.Fprintln(w, d) })
	if err != nil {
		_ = w.Flush()
		return failed(fmt.Errorf("verify customer_summary: %w", err))
	}
	if checked > 0 || summaryDiffs > 0 {
		fmt.Fprintf(w, "verify: customer_summary: %d orders checked, %d differences\n", checked, summaryDiffs)
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

// runRebuild recomputes the order_overview read model from the events and prints what
// it did. Commands wait while it runs.
func runRebuild(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	cfg, err := parseConfig("rebuild", args, getenv)
	if err != nil {
		return err
	}
	pool, err := postgres.Connect(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	sum, err := verify.Rebuild(ctx, pool, eventcodec.NewOrderRegistry())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, sum)
	return err
}
