package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application"
	"github.com/example/orders/application/appkit"
	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/wiring"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// orders runs the command line as main does and returns its output and exit code.
func orders(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(appkit.AsSystem(context.Background()), args, func(k string) string { return env[k] }, &out, &errOut)
	if err != nil {
		errOut.WriteString("orders: " + err.Error() + "\n")
	}
	return out.String(), errOut.String(), exitCode(err)
}

func TestVerifyAndRebuildCommands(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	ctx := appkit.AsSystem(context.Background())
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	app := testsupport.NewApp(t, pool)
	var ids []uuid.UUID
	for i := 0; i < 3; i++ {
		res, err := app.Orders.PlaceOrder(ctx, application.PlaceOrder{OrderID: uuid.Must(application.NewID()), CustomerID: "cli", Currency: "EUR"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.Orders.AddOrderLine(ctx, application.AddOrderLine{OrderID: res.View.State.ID, SKU: "apple", Quantity: 3, UnitPriceCents: 250}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.View.State.ID)
	}

	// Clean: one summary line, exit 0. The URL comes from the flag or DATABASE_URL.
	clean := "verify: 3 streams, 6 events, 3 read-model rows checked, 0 differences\n"
	if out, errOut, code := orders(t, nil, "verify", "--database-url", url); out != clean || code != 0 || errOut != "" {
		t.Fatalf("verify of a clean database: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if out, _, code := orders(t, map[string]string{"DATABASE_URL": url}, "verify"); out != clean || code != 0 {
		t.Fatalf("verify with DATABASE_URL: exit %d, stdout %q", code, out)
	}

	// Differences: one line each, then the summary; exit 1.
	if _, err := pool.Exec(ctx, `UPDATE order_overview SET total_cents = 700 WHERE id = $1`, ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE aggregate_heads SET version = 5 WHERE stream_id = $1`, ids[2].String()); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := orders(t, nil, "verify", "--database-url", url)
	got := strings.SplitAfter(out, "\n")
	want := []string{
		fmt.Sprintf("order %s: total_cents: expected 750, found 700\n", ids[1]),
		fmt.Sprintf("order %s: aggregate_heads.version: expected 2, found 5\n", ids[2]),
		"verify: 3 streams, 6 events, 3 read-model rows checked, 2 differences\n",
		"",
	}
	// Streams are checked in (stream type, id) order, the database's.
	if !slices.Equal(got, want) && !slices.Equal(got, append([]string{want[1], want[0]}, want[2:]...)) || code != 1 || errOut != "orders: verify: 2 differences\n" {
		t.Fatalf("verify of a damaged database: exit %d, stdout\n%s\nwant\n%s\nstderr %q", code, out, strings.Join(want, ""), errOut)
	}

	// Rebuild repairs the read model (not the head: the log is not its business).
	if _, err := pool.Exec(ctx, `UPDATE aggregate_heads SET version = 2 WHERE stream_id = $1`, ids[2].String()); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = orders(t, nil, "rebuild", "--database-url", url)
	if code != 0 || errOut != "" || !strings.HasPrefix(out, "rebuild: 3 order streams, 6 events; wrote 3 order_overview and 3 order_overview_lines rows (replacing 3 and 3) in ") {
		t.Fatalf("rebuild: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if out, _, code := orders(t, nil, "verify", "--database-url", url); out != clean || code != 0 {
		t.Fatalf("verify after rebuild: exit %d, stdout %q", code, out)
	}

	// One read model by name; an unknown name is a usage error listing the known ones.
	out, errOut, code = orders(t, nil, "rebuild", "order_overview", "--database-url", url)
	if code != 0 || errOut != "" || !strings.HasPrefix(out, "rebuild: 3 order streams, 6 events; wrote 3 order_overview") || strings.Count(out, "\n") != 1 {
		t.Fatalf("rebuild order_overview: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	var known []string
	for _, m := range wiring.ReadModels() {
		known = append(known, m.Name())
	}
	out, errOut, code = orders(t, nil, "rebuild", "not_a_read_model", "--database-url", url)
	if code != 2 || out != "" || errOut != "orders: rebuild: no read model \"not_a_read_model\"; known: "+strings.Join(known, ", ")+"\n" {
		t.Fatalf("rebuild of an unknown read model: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// A stream type that no registered aggregate has is the history of one removed
	// (make remove-example): verify says it skipped its events and passes, and still
	// checks its streams' versions and heads.
	removed := eventstore.StreamID{Type: "removed", ID: uuid.NewString()}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := eventstore.Append(ctx, tx, removed, eventstore.NoStream(), []eventstore.EventData{{Type: "SomethingHappened", SchemaVersion: 1, Payload: []byte(`{}`)}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	skipped := SkippedStreamType + ` "removed" (1 stream): no registered aggregate has it; versions and heads checked, events not (a removed aggregate's history)` + "\n"
	out, errOut, code = orders(t, nil, "verify", "--database-url", url)
	want = []string{skipped, "verify: 4 streams, 7 events, 3 read-model rows checked, 0 differences\n"}
	if out != strings.Join(want, "") || code != 0 || errOut != "" {
		t.Fatalf("verify with a stream type no aggregate has: exit %d, stdout\n%s\nwant\n%s\nstderr %q", code, out, strings.Join(want, ""), errOut)
	}
	if _, err := pool.Exec(ctx, `UPDATE aggregate_heads SET version = 3 WHERE stream_type = 'removed'`); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = orders(t, nil, "verify", "--database-url", url)
	want = []string{skipped, "removed " + removed.ID + ": aggregate_heads.version: expected 1, found 3\n", "verify: 4 streams, 7 events, 3 read-model rows checked, 1 differences\n"}
	if !slices.Equal(strings.SplitAfter(out, "\n"), append(want, "")) && !slices.Equal(strings.SplitAfter(out, "\n"), []string{want[1], want[0], want[2], ""}) ||
		code != 1 || errOut != "orders: verify: 1 differences\n" {
		t.Fatalf("verify with a wrong head of a stream type no aggregate has: exit %d, stdout\n%s\nwant\n%s\nstderr %q", code, out, strings.Join(want, ""), errOut)
	}
}

func TestVerifyExitsTwoWhenItCannotCheck(t *testing.T) {
	t.Parallel()
	unreachable := "postgres://nobody:secret@127.0.0.1:1/orders?connect_timeout=5"
	for _, args := range [][]string{
		{"verify", "--database-url", unreachable},
		{"verify"}, // no DATABASE_URL
		{"verify", "--database-url", unreachable, "stray"},
	} {
		out, errOut, code := orders(t, nil, args...)
		if code != 2 || out != "" || !strings.HasPrefix(errOut, "orders: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and only an error", args, code, out, errOut)
		}
	}
	// A database without the schema cannot be checked either.
	url := pgtest.NewDatabase(t)
	pool, err := pgxpool.New(appkit.AsSystem(context.Background()), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(appkit.AsSystem(context.Background()), `DROP TABLE order_overview_lines, order_overview`); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := orders(t, nil, "verify", "--database-url", url); code != 2 || !strings.Contains(errOut, "order_overview") {
		t.Errorf("verify without the read-model tables: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// Rebuild has one way to fail, and exits 1 like the other commands.
	if _, errOut, code := orders(t, nil, "rebuild", "--database-url", unreachable); code != 1 || !strings.HasPrefix(errOut, "orders: ") {
		t.Errorf("rebuild of an unreachable database: exit %d, stderr %q", code, errOut)
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		code int
	}{
		{nil, 0},
		{errors.New("any"), 1},
		{&exitError{code: 2, err: errors.New("cannot")}, 2},
		{fmt.Errorf("wrapped: %w", &exitError{code: 3, err: errors.New("x")}), 3},
	} {
		if got := exitCode(c.err); got != c.code {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.code)
		}
	}
	out, _, code := orders(t, nil, "help")
	if code != 0 || !strings.Contains(out, "orders verify") || !strings.Contains(out, "orders rebuild") {
		t.Fatalf("help: exit %d, %q", code, out)
	}
}
