package eventstore_test

import (
	"context"
	"testing"
	"time"

	es "github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/test/pgtest"
)

// The case `transaction_id < pg_snapshot_xmin` alone gets wrong: a transaction that
// took its id first (early) appends after one that took a lower position and is still
// open (late). The early one's event has the higher position and an xid below xmin;
// a feed must not hand it out before the late one's lower position is final.
func TestFeedDoesNotPassALowerPositionOfAnOpenTransaction(t *testing.T) {
	t.Parallel()
	pool, ctx := pgtest.NewPool(t), context.Background()
	early, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer early.Rollback(ctx)
	if _, err := early.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil { // takes its xid now
		t.Fatal(err)
	}
	late, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Rollback(ctx)
	lateEvents, err := es.Append(ctx, late, newStream(), es.NoStream(), []es.EventData{event("Late", 1)})
	if err != nil {
		t.Fatal(err)
	}
	earlyEvents, err := es.Append(ctx, early, newStream(), es.NoStream(), []es.EventData{event("Early", 2)})
	if err != nil {
		t.Fatal(err)
	}
	if err := early.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if earlyEvents[0].Position <= lateEvents[0].Position {
		t.Fatalf("setup: early's position %d should follow late's %d", earlyEvents[0].Position, lateEvents[0].Position)
	}
	h := &es.Horizon{Wait: 20 * time.Millisecond}
	page, err := es.ReadFeed(ctx, pool, h, es.FeedQuery{Limit: 10, ScanLimit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 0 || page.NextAfter >= lateEvents[0].Position {
		t.Fatalf("feed handed out %d events, next_after %d, while position %d is still open", len(page.Events), page.NextAfter, lateEvents[0].Position)
	}
	if err := late.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	page = feedEventually(t, pool, h, es.FeedQuery{Limit: 10, ScanLimit: 100}, 2)
	if page.Events[0].Type != "Late" || page.Events[1].Type != "Early" || !page.AtHead {
		t.Fatalf("after both commits: %+v", page)
	}
}

// Filters never skip what the client did not ask to skip, and the scan is bounded:
// a page of a rarely matching filter looks at ScanLimit rows and says how far it got.
func TestFeedFiltersAndBoundedScan(t *testing.T) {
	t.Parallel()
	pool, ctx := pgtest.NewPool(t), context.Background()
	for i := 0; i < 10; i++ {
		typ := "A"
		if i == 7 {
			typ = "B"
		}
		mustAppend(t, pool, newStream(), es.NoStream(), event(typ, i))
	}
	h := &es.Horizon{}
	all := feedEventually(t, pool, h, es.FeedQuery{Limit: 100, ScanLimit: 100}, 10)
	var got []int64
	after := int64(0)
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("too many pages")
		}
		page, err := es.ReadFeed(ctx, pool, h, es.FeedQuery{After: after, Limit: 2, Types: []string{"B"}, ScanLimit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if page.NextAfter < after || page.NextAfter > page.Horizon {
			t.Fatalf("next_after %d outside [%d, horizon %d]", page.NextAfter, after, page.Horizon)
		}
		if !page.AtHead && page.NextAfter == after {
			t.Fatal("a page not at the head must make progress")
		}
		for _, e := range page.Events {
			got = append(got, e.Position)
		}
		after = page.NextAfter
		if page.AtHead {
			break
		}
	}
	if len(got) != 1 || got[0] != all.Events[7].Position {
		t.Fatalf("filtered paging gave %v, want [%d]", got, all.Events[7].Position)
	}
	page, err := es.ReadFeed(ctx, pool, h, es.FeedQuery{Limit: 3, StreamType: "nothing", ScanLimit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 0 || !page.AtHead || page.NextAfter != all.Events[9].Position {
		t.Fatalf("a filter matching nothing: %+v", page)
	}
}

func feedEventually(t *testing.T, pool es.DBTX, h *es.Horizon, q es.FeedQuery, want int) es.FeedPage {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		page, err := es.ReadFeed(context.Background(), pool, h, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) >= want || time.Now().After(deadline) {
			if len(page.Events) != want {
				t.Fatalf("feed gave %d events, want %d", len(page.Events), want)
			}
			return page
		}
		time.Sleep(10 * time.Millisecond)
	}
}
