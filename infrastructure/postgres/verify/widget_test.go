package verify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
	es "github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/verify"
)

// A second aggregate, only for these tests: a widget is created with a name and
// bumped; its read model widget_overview is one row per widget. Everything it takes to
// register it with verify and rebuild is widgetReadModel.

type widgetEvent interface{ isWidgetEvent() }

type widgetCreated struct {
	Name string `json:"name"`
}
type widgetBumped struct {
	By int64 `json:"by"`
}

func (widgetCreated) isWidgetEvent() {}
func (widgetBumped) isWidgetEvent()  {}

type widgetCodec struct{}

func (widgetCodec) Encode(e widgetEvent) (string, int, []byte, error) {
	b, err := json.Marshal(e)
	switch e.(type) {
	case widgetCreated:
		return "WidgetCreated", 1, b, err
	case widgetBumped:
		return "WidgetBumped", 1, b, err
	}
	return "", 0, nil, fmt.Errorf("unknown widget event %T", e)
}

func (widgetCodec) Names() []string { return []string{"WidgetBumped", "WidgetCreated"} }

func (widgetCodec) Decode(name string, version int, payload []byte) (widgetEvent, error) {
	switch name {
	case "WidgetCreated":
		var e widgetCreated
		return e, json.Unmarshal(payload, &e)
	case "WidgetBumped":
		var e widgetBumped
		return e, json.Unmarshal(payload, &e)
	}
	return nil, fmt.Errorf("unknown widget event %s v%d", name, version)
}

// widgetState is the domain's fold.
type widgetState struct {
	exists bool
	name   string
	total  int64
}

func foldWidget(s widgetState, events ...widgetEvent) widgetState {
	for _, e := range events {
		switch e := e.(type) {
		case widgetCreated:
			s = widgetState{exists: true, name: e.Name}
		case widgetBumped:
			s.total += e.By
		}
	}
	return s
}

const widgetTable = `CREATE TABLE widget_overview (
	id uuid PRIMARY KEY, name text NOT NULL, total bigint NOT NULL, version bigint NOT NULL)`

// projectWidget is the inline projection, idempotent by version.
func projectWidget(q aggregatestore.Queue, id uuid.UUID, events []appkit.RecordedEvent[widgetEvent]) error {
	for _, r := range events {
		switch e := r.Event.(type) {
		case widgetCreated:
			q.Defer(`INSERT INTO widget_overview (id, name, total, version) VALUES ($1, $2, 0, $3) ON CONFLICT (id) DO NOTHING`, id, e.Name, r.Version)
		case widgetBumped:
			q.Defer(`UPDATE widget_overview SET total = total + $2, version = $3 WHERE id = $1 AND version < $3`, id, e.By, r.Version)
		}
	}
	return nil
}

// widgetOverview is what widget_overview holds for one widget: a row, or none (nil).
type widgetOverview struct {
	Row *widgetRow `verify:"widget_overview"`
}

type widgetRow struct {
	Name    string `db:"name"`
	Total   int64  `db:"total"`
	Version int64  `db:"version"`
}

func widgetReadModel() verify.ReadModel {
	return verify.For(verify.Definition[widgetEvent, widgetOverview]{
		Name: "widget_overview", StreamType: "widget", NoRow: "the events create no widget",
		Codec: widgetCodec{}, Project: projectWidget,
		Expect: func(_ uuid.UUID, events []appkit.RecordedEvent[widgetEvent]) (widgetOverview, error) {
			var s widgetState
			for _, r := range events {
				s = foldWidget(s, r.Event)
			}
			if !s.exists {
				return widgetOverview{}, nil
			}
			return widgetOverview{Row: &widgetRow{Name: s.name, Total: s.total, Version: events[len(events)-1].Version}}, nil
		},
	})
}

func (f fixture) widget(t testing.TB, name string, bumps ...int64) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	stream := es.StreamID{Type: "widget", ID: id.String()}
	f.appendRaw(t, stream, es.NoStream(), "WidgetCreated", 1, fmt.Sprintf(`{"name": %q}`, name))
	for i, by := range bumps {
		f.appendRaw(t, stream, es.Exact(int64(i+1)), "WidgetBumped", 1, fmt.Sprintf(`{"by": %d}`, by))
	}
	return id
}

func (f fixture) widgetRows(t testing.TB) []string {
	t.Helper()
	rows, err := f.pool.Query(appkit.AsSystem(context.Background()), `SELECT to_jsonb(w)::text FROM (SELECT * FROM widget_overview ORDER BY id) w`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func widgetDiff(id uuid.UUID, field, expected, found string) verify.Difference {
	return verify.Difference{Stream: es.StreamID{Type: "widget", ID: id.String()}, Field: field, Expected: expected, Found: found}
}

// Verify and rebuild know nothing of widgets: registering widgetReadModel is enough
// for a corrupted, a missing and an orphan row to be found, and repaired, while the
// orders' read model is checked alongside and left alone.
func TestASecondRegisteredReadModelIsVerifiedAndRebuilt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	if _, err := f.pool.Exec(ctx, widgetTable); err != nil {
		t.Fatal(err)
	}
	widgets := widgetReadModel()
	models := append([]verify.ReadModel{widgets}, f.models...)
	for i := 0; i < 5; i++ {
		f.order(t, i)
	}
	var ids []uuid.UUID
	for i := 0; i < 12; i++ {
		ids = append(ids, f.widget(t, fmt.Sprintf("w%d", i), make([]int64, i%4)...))
	}
	bumped := f.widget(t, "bumped", 3, 4) // total 7, version 3

	// The widgets' events were written without their projection: rebuild writes the
	// rows from the projection, verify agrees with them by the fold.
	diffs, _ := f.verifyWith(t, models)
	if len(diffs) != 13 {
		t.Fatalf("before the first rebuild, %d differences:\n%s", len(diffs), lines(diffs))
	}
	rs, err := verify.Rebuild(ctx, f.pool, widgets, verify.PageSize(5))
	if err != nil {
		t.Fatal(err)
	}
	if rs.Streams != 13 || rs.Table("widget_overview").Rows != 13 || rs.Table("widget_overview").Deleted != 0 {
		t.Fatalf("rebuild summary %+v", rs)
	}
	if !strings.HasPrefix(rs.String(), "rebuild: 13 widget streams, ") || !strings.Contains(rs.String(), "wrote 13 widget_overview rows (replacing 0)") {
		t.Fatalf("rebuild reads %q", rs)
	}
	sum := mustVerifyWith(t, f, models)
	if sum.Rows != 13+5 {
		t.Fatalf("%d root rows checked, want 18", sum.Rows)
	}
	before, ordersBefore := f.widgetRows(t), f.readModel(t)

	orphan := uuid.Must(uuid.NewV7())
	f.exec(t, `UPDATE widget_overview SET total = 70 WHERE id = $1`, bumped)
	f.exec(t, `UPDATE widget_overview SET name = 'renamed' WHERE id = $1`, ids[2])
	f.exec(t, `DELETE FROM widget_overview WHERE id = $1`, ids[5])
	f.exec(t, `INSERT INTO widget_overview (id, name, total, version) VALUES ($1, 'ghost', 0, 4)`, orphan)
	for _, pageSize := range []int{verify.DefaultPageSize, 3} {
		diffs, _ = f.verifyWith(t, models, verify.PageSize(pageSize))
		wantExactly(t, diffs, []verify.Difference{
			widgetDiff(bumped, "total", "7", "70"),
			widgetDiff(ids[2], "name", `"w2"`, `"renamed"`),
			widgetDiff(ids[5], "widget_overview", "a row at version 2", "no row"),
			widgetDiff(orphan, "widget_overview", "no row (the widget has no events)", "a row at version 4"),
		})
	}
	if got := widgetDiff(bumped, "total", "7", "70").String(); got != "widget "+bumped.String()+": total: expected 7, found 70" {
		t.Fatalf("difference reads %q", got)
	}

	rs, err = verify.Rebuild(ctx, f.pool, widgets)
	if err != nil {
		t.Fatal(err)
	}
	if w := rs.Table("widget_overview"); w.Rows != 13 || w.Deleted != 13 {
		t.Fatalf("rebuild summary %+v", rs)
	}
	mustVerifyWith(t, f, models)
	if after := f.widgetRows(t); !reflect.DeepEqual(after, before) {
		t.Fatalf("rebuilt widgets:\n%s\nwant\n%s", strings.Join(after, "\n"), strings.Join(before, "\n"))
	}
	if !reflect.DeepEqual(f.readModel(t), ordersBefore) {
		t.Fatal("rebuilding widgets changed the orders' read model")
	}

	// Without the widgets' registration, their streams are one difference: verify
	// cannot check them.
	diffs, _ = f.verify(t)
	wantExactly(t, diffs, []verify.Difference{{Stream: es.StreamID{Type: "widget"}, Found: "no read-model checker registered (13 streams)"}})
	if got := diffs[0].String(); got != `stream type "widget": no read-model checker registered (13 streams)` {
		t.Fatalf("difference reads %q", got)
	}

	// Two read models of one stream type are refused rather than half checked.
	if _, err := verify.Verify(ctx, f.pool, append(models, widgetReadModel()), nil); err == nil || !strings.Contains(err.Error(), `"widget"`) {
		t.Fatalf("two widget read models: %v", err)
	}
}

func mustVerifyWith(t *testing.T, f fixture, models []verify.ReadModel) verify.Summary {
	t.Helper()
	diffs, sum := f.verifyWith(t, models)
	if len(diffs) > 0 {
		t.Fatalf("verify found %d differences:\n%s", len(diffs), lines(diffs))
	}
	return sum
}

// shoutingWidget is widget_overview with a column its projection forgets to fill:
// the checker says what the column should hold, verify finds it empty.
type shoutingWidget struct {
	Row *shoutingRow `verify:"widget_overview"`
}

type shoutingRow struct {
	Name    string  `db:"name"`
	Shout   *string `db:"shout"`
	Total   int64   `db:"total"`
	Version int64   `db:"version"`
}

func TestAColumnTheProjectionForgetsIsADifference(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := appkit.AsSystem(context.Background())
	if _, err := f.pool.Exec(ctx, widgetTable+`; ALTER TABLE widget_overview ADD COLUMN shout text`); err != nil {
		t.Fatal(err)
	}
	model := verify.For(verify.Definition[widgetEvent, shoutingWidget]{
		Name: "widget_overview", StreamType: "widget", Codec: widgetCodec{}, Project: projectWidget,
		Expect: func(_ uuid.UUID, events []appkit.RecordedEvent[widgetEvent]) (shoutingWidget, error) {
			var s widgetState
			for _, r := range events {
				s = foldWidget(s, r.Event)
			}
			shout := strings.ToUpper(s.name)
			return shoutingWidget{Row: &shoutingRow{Name: s.name, Shout: &shout, Total: s.total, Version: events[len(events)-1].Version}}, nil
		},
	})
	id := f.widget(t, "hey", 2)
	if _, err := verify.Rebuild(ctx, f.pool, model); err != nil {
		t.Fatal(err)
	}
	diffs, _ := f.verifyWith(t, []verify.ReadModel{model})
	wantExactly(t, diffs, []verify.Difference{widgetDiff(id, "shout", `"HEY"`, "NULL")})
	f.exec(t, `UPDATE widget_overview SET shout = 'HEY'`)
	mustVerifyWith(t, f, []verify.ReadModel{model})
}
