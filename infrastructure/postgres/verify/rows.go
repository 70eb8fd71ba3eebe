package verify

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// A read model's tables as the checker compares them: every column of every row
// read, against the field of the same name (db tag) in the row struct Expect fills.
// The columns come from the rows themselves (to_jsonb), not from a list, so a column
// nobody told the checker about is a difference rather than unchecked.

// table is one table of a read model, from a field of Definition's R.
type table struct {
	name      string
	field     int          // the field of R that holds its expected rows
	root      bool         // one row per stream (a pointer field), else rows in key order (a slice)
	streamCol string       // the column holding the stream id: how rows are found
	keyCol    string       // root: the version column; child: what tells its rows apart
	as        string       // child: how differences name its rows, e.g. "lines"
	row       reflect.Type // the row struct
	cols      []column     // the row struct's fields, in order
	key       int          // the index in cols of keyCol
}

// column is one field of a row struct and the column it stands for.
type column struct {
	name  string
	field int
	word  bool // shown as it is rather than quoted (a status, a currency)
}

// foundRow is one row as read: every column, as to_jsonb gives it.
type foundRow map[string]json.RawMessage

func tablesOf(r reflect.Type, idCol, versionCol string) ([]table, error) {
	if r.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%v is not a struct with one field per table", r)
	}
	var tables []table
	var root *table
	for i := range r.NumField() {
		f := r.Field(i)
		tag, ok := f.Tag.Lookup("verify")
		if !ok || !f.IsExported() {
			return nil, fmt.Errorf("%v.%s: every field is an exported one tagged with its table, verify:\"TABLE\"", r, f.Name)
		}
		parts := strings.Split(tag, ",")
		t := table{name: parts[0], field: i, key: -1}
		for _, p := range parts[1:] {
			switch k, v, _ := strings.Cut(p, "="); k {
			case "stream":
				t.streamCol = v
			case "key":
				t.keyCol = v
			case "as":
				t.as = v
			default:
				return nil, fmt.Errorf("%v.%s: unknown option %q in its verify tag", r, f.Name, p)
			}
		}
		switch {
		case f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct:
			if root != nil {
				return nil, fmt.Errorf("%v: two root tables, %s and %s", r, root.name, t.name)
			}
			t.root, t.streamCol, t.keyCol, t.row = true, idCol, versionCol, f.Type.Elem()
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
			if t.streamCol == "" || t.keyCol == "" {
				return nil, fmt.Errorf("%v.%s: a child table names its stream and key columns, verify:\"%s,stream=COLUMN,key=COLUMN\"", r, f.Name, t.name)
			}
			if t.as == "" {
				t.as = t.name
			}
			t.row = f.Type.Elem()
		default:
			return nil, fmt.Errorf("%v.%s: a table's field is a pointer to a row struct (the root) or a slice of row structs", r, f.Name)
		}
		for j := range t.row.NumField() {
			rf := t.row.Field(j)
			tag, ok := rf.Tag.Lookup("db")
			name, opt, _ := strings.Cut(tag, ",")
			if !ok || name == "" || !rf.IsExported() {
				return nil, fmt.Errorf("%v.%s: every field of a row struct is an exported one tagged with its column, db:\"COLUMN\"", t.row, rf.Name)
			}
			if name == t.streamCol {
				return nil, fmt.Errorf("%v.%s: %s.%s holds the stream id, by which rows are found; it needs no field", t.row, rf.Name, t.name, name)
			}
			if name == t.keyCol {
				t.key = len(t.cols)
			}
			t.cols = append(t.cols, column{name: name, field: j, word: opt == "word"})
		}
		if t.key < 0 {
			return nil, fmt.Errorf("%v: no field for column %s.%s", t.row, t.name, t.keyCol)
		}
		if t.root {
			root = &t
		} else {
			tables = append(tables, t)
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%v: no root table (a field that is a pointer to a row struct)", r)
	}
	return append(tables, *root), nil
}

// load queues the query that reads every column of the rows of streams ids.
func (t table) load(b *pgx.Batch, ids []uuid.UUID, found func(uuid.UUID, foundRow)) {
	stream := pgx.Identifier{t.streamCol}.Sanitize()
	sql := fmt.Sprintf(`SELECT to_jsonb(r)::text FROM %s r WHERE r.%s = ANY($1::uuid[])`, pgx.Identifier{t.name}.Sanitize(), stream)
	if !t.root {
		sql += fmt.Sprintf(" ORDER BY r.%s, r.%s", stream, pgx.Identifier{t.keyCol}.Sanitize())
	}
	b.Queue(sql, ids).Query(func(rows pgx.Rows) error {
		var text string
		_, err := pgx.ForEachRow(rows, []any{&text}, func() error {
			var r foundRow
			var id uuid.UUID
			if err := json.Unmarshal([]byte(text), &r); err != nil {
				return fmt.Errorf("read %s: %w", t.name, err)
			}
			if err := json.Unmarshal(r[t.streamCol], &id); err != nil {
				return fmt.Errorf("read %s.%s: %w", t.name, t.streamCol, err)
			}
			found(id, r)
			return nil
		})
		return err
	})
}

// compareRoot compares the root row want holds with the one found, if any, and says
// whether both exist (so that the child tables are compared).
func (t table) compareRoot(d Diff, noRow string, want reflect.Value, found []foundRow) bool {
	w := want.Field(t.field)
	var f foundRow
	if len(found) > 0 {
		f = found[0]
	}
	switch {
	case w.IsNil() && f == nil:
		return false
	case w.IsNil():
		d.Report(t.name, "no row ("+noRow+")", "a row at version "+formatRaw(f[t.keyCol]))
		return false
	case f == nil:
		d.Report(t.name, "a row at version "+t.cols[t.key].format(w.Elem().Field(t.cols[t.key].field)), "no row")
		return false
	}
	t.compareRow(d, "", w.Elem(), f)
	return true
}

// compareChildren matches the rows want holds with those found by key, compares
// those on both sides column by column and reports those on one side only.
func (t table) compareChildren(d Diff, want reflect.Value, found []foundRow) {
	w := want.Field(t.field)
	byKey := make(map[string]foundRow, len(found))
	keys := make([]string, len(found))
	for i, f := range found {
		keys[i] = t.foundKey(f)
		byKey[keys[i]] = f
	}
	kc := t.cols[t.key]
	matched := map[string]bool{}
	for i := range w.Len() {
		row := w.Index(i)
		k := kc.show(row.Field(kc.field))
		at := fmt.Sprintf("%s[%s]", t.as, k)
		if f, ok := byKey[k]; ok {
			matched[k] = true
			t.compareRow(d, at+".", row, f)
		} else {
			d.Report(at, t.describe(func(c column) string { return c.format(row.Field(c.field)) }), "no row")
		}
	}
	for _, k := range keys {
		if !matched[k] {
			f := byKey[k]
			d.Report(fmt.Sprintf("%s[%s]", t.as, k), "no row", t.describe(func(c column) string { return t.foundValue(c, f[c.name]) }))
		}
	}
	d.Number(t.as+".count", int64(w.Len()), int64(len(found)))
}

// compareRow compares every column found with the row struct's field of that name.
func (t table) compareRow(d Diff, prefix string, want reflect.Value, f foundRow) {
	known := map[string]bool{t.streamCol: true}
	for _, c := range t.cols {
		known[c.name] = true
		wv := want.Field(c.field)
		raw, ok := f[c.name]
		if !ok {
			d.Report(prefix+c.name, c.format(wv), fmt.Sprintf("no column %s in %s", c.name, t.name))
			continue
		}
		if equal, shown := c.compare(wv, raw); !equal {
			d.Report(prefix+c.name, c.format(wv), shown)
		}
	}
	var unknown []string
	for name := range f {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	for _, name := range unknown {
		d.Report(prefix+name, fmt.Sprintf("a column the checker compares (no field of %v is tagged db:%q)", t.row, name), formatRaw(f[name]))
	}
}

// describe shows a row's columns but its key, e.g. `sku "b", quantity 2`.
func (t table) describe(value func(column) string) string {
	var parts []string
	for i, c := range t.cols {
		if i != t.key {
			parts = append(parts, c.name+" "+value(c))
		}
	}
	return strings.Join(parts, ", ")
}

func (t table) foundKey(f foundRow) string {
	c := t.cols[t.key]
	v := reflect.New(t.row.Field(c.field).Type)
	if err := json.Unmarshal(f[c.name], v.Interface()); err != nil {
		return formatRaw(f[c.name])
	}
	return c.show(v.Elem())
}

func (t table) foundValue(c column, raw json.RawMessage) string {
	v := reflect.New(t.row.Field(c.field).Type)
	if string(raw) == "null" || json.Unmarshal(raw, v.Interface()) != nil {
		return formatRaw(raw)
	}
	return c.format(v.Elem())
}

// compare says whether the column's value raw equals want, and how raw reads.
func (c column) compare(want reflect.Value, raw json.RawMessage) (bool, string) {
	if raw == nil || string(raw) == "null" {
		return want.Kind() == reflect.Pointer && want.IsNil(), "NULL"
	}
	found := reflect.New(want.Type())
	if err := json.Unmarshal(raw, found.Interface()); err != nil {
		return false, string(raw)
	}
	return equal(want, found.Elem()), c.format(found.Elem())
}

func equal(a, b reflect.Value) bool {
	if t, ok := a.Interface().(time.Time); ok {
		return t.Equal(b.Interface().(time.Time))
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return equal(a.Elem(), b.Elem())
	case reflect.Slice, reflect.Map:
		if a.Len() == 0 && b.Len() == 0 {
			return true
		}
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// format shows a value as differences do: texts quoted (unless the column is a word),
// times in UTC, RFC 3339, NULL for a nil pointer, anything else as JSON.
func (c column) format(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "NULL"
		}
		return c.format(v.Elem())
	}
	switch x := v.Interface().(type) {
	case time.Time:
		return FormatTime(x)
	case string:
		if c.word {
			return x
		}
		return strconv.Quote(x)
	case fmt.Stringer:
		return x.String()
	}
	switch v.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return fmt.Sprint(v.Interface())
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return fmt.Sprint(v.Interface())
	}
	return string(b)
}

// show is format for a key in brackets: texts unquoted.
func (c column) show(v reflect.Value) string {
	return column{word: true}.format(v)
}

func formatRaw(raw json.RawMessage) string {
	if raw == nil || string(raw) == "null" {
		return "NULL"
	}
	return string(raw)
}
