package aggregatestore

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/infrastructure/personaldata"
	"github.com/example/orders/infrastructure/postgres"
)

// Overview reads an aggregate's inline read model: a table with one row per aggregate,
// each row scanned into the aggregate's state, listed newest first and keyset-paged by
// (Newest, ID). An aggregate's queries are its SELECT, its scan and its filters.
type Overview[S any] struct {
	Pool *pgxpool.Pool
	// Select is the query up to its WHERE: "SELECT ... FROM order_overview o ".
	Select string
	// ID and Newest are the columns of the id and of the time lists sort by, newest
	// first ("o.id", "o.placed_at"); an index on the filters and (Newest, ID) serves
	// every list.
	ID, Newest string
	NotFound   error // the aggregate's not-found error
	Scan       func(pgx.Rows) (appkit.Versioned[S], error)
	// Key is a state's place in the list: its Newest time and its id.
	Key func(S) appkit.PageKey
	// Personal opens the personal data the rows keep sealed; nil opens none (a sealed
	// value is then an error).
	Personal *personaldata.Keys
}

// Filter narrows a list by equal columns. Its conditions are fixed fragments, never
// request text, so each combination of filters gets a plan that can use its index.
type Filter struct {
	where []string
	args  []any
}

// Equal keeps the rows whose column equals v.
func (f *Filter) Equal(column string, v any) {
	f.args = append(f.args, v)
	f.where = append(f.where, fmt.Sprintf("%s = $%d", column, len(f.args)))
}

// ByID returns the aggregate's row, or NotFound.
func (o Overview[S]) ByID(ctx context.Context, id uuid.UUID) (appkit.Versioned[S], error) {
	views, err := o.query(ctx, o.Select+"WHERE "+o.ID+" = $1", id)
	if err != nil {
		return appkit.Versioned[S]{}, err
	}
	if len(views) == 0 {
		return appkit.Versioned[S]{}, o.NotFound
	}
	return views[0], nil
}

// List returns a page of at most limit rows after the key after (nil: the first page).
func (o Overview[S]) List(ctx context.Context, f Filter, after *appkit.PageKey, limit int) (appkit.Page[appkit.Versioned[S]], error) {
	if after != nil {
		f.args = append(f.args, after.At, after.ID)
		f.where = append(f.where, fmt.Sprintf("(%s, %s) < ($%d, $%d)", o.Newest, o.ID, len(f.args)-1, len(f.args)))
	}
	sql := o.Select
	if len(f.where) > 0 {
		sql += "WHERE " + strings.Join(f.where, " AND ")
	}
	f.args = append(f.args, limit+1) // a parameter: one prepared statement per filter combination
	sql += fmt.Sprintf(" ORDER BY %s DESC, %s DESC LIMIT $%d", o.Newest, o.ID, len(f.args))
	views, err := o.query(ctx, sql, f.args...)
	if err != nil {
		return appkit.Page[appkit.Versioned[S]]{}, err
	}
	page := appkit.Page[appkit.Versioned[S]]{Items: views}
	if len(views) > limit {
		page.Items = views[:limit]
		key := o.Key(page.Items[limit-1].State)
		page.Next = &key
	}
	return page, nil
}

func (o Overview[S]) query(ctx context.Context, sql string, args ...any) ([]appkit.Versioned[S], error) {
	rows, err := o.Pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, postgres.Classify(err)
	}
	defer rows.Close()
	views := []appkit.Versioned[S]{}
	for rows.Next() {
		v, err := o.Scan(rows)
		if err != nil {
			return nil, postgres.Classify(err)
		}
		views = append(views, v)
	}
	if err := rows.Err(); err != nil {
		return nil, postgres.Classify(err)
	}
	states := make([]any, len(views))
	for i := range views {
		states[i] = &views[i].State
	}
	if err := o.Personal.Open(ctx, o.Pool, states...); err != nil {
		return nil, postgres.Classify(err)
	}
	return views, nil
}
