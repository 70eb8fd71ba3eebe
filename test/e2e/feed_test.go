package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/example/orders/api"
	"github.com/example/orders/infrastructure/eventcodec"
	es "github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/feed"
	"github.com/example/orders/test/pgtest"
	"github.com/example/orders/test/testsupport"
)

// streamClient checks streams against the contract like httpClient, without a total
// timeout (a stream does not end).
var streamClient = &http.Client{Transport: testsupport.MustContract(nil)}

func placeOrders(t testing.TB, base string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		r := do(t, http.MethodPost, base+"/orders", `{"customer_id":"feed","currency":"EUR"}`)
		if r.Status != http.StatusCreated {
			t.Fatalf("place order: %s", r)
		}
	}
}

func feedPage(t testing.TB, url string) api.FeedPage {
	t.Helper()
	r := do(t, http.MethodGet, url, "")
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %s", url, r)
	}
	var p api.FeedPage
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func dbPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func allPositions(t testing.TB, pool *pgxpool.Pool) []int64 {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT global_position FROM events ORDER BY global_position`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func checkSequence(t testing.TB, got, want []int64) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("positions out of order or repeated at %d: %d after %d", i, got[i], got[i-1])
		}
	}
	if !slices.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("received %d events, the log has %d; first difference at index %d: got %v…, want %v…",
			len(got), len(want), i, got[i:min(i+5, len(got))], want[i:min(i+5, len(want))])
	}
}

// Paging with after=next_after while writers run and one transaction, holding a low
// position, commits late: every event once, in order.
func TestFeedPagesEveryEventOnceWhileWritersRunAndATransactionCommitsLate(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	s := startServerOn(t, db, nil)
	pool := dbPool(t, db)
	ctx := context.Background()
	placeOrders(t, s.URL, 3)

	held, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = held.Rollback(ctx) }()
	placedVersion, _ := eventcodec.NewOrderRegistry().Version("OrderPlaced")
	heldEvents, err := es.Append(ctx, held, es.StreamID{Type: "order", ID: "held-open"}, es.NoStream(),
		[]es.EventData{{Type: "OrderPlaced", SchemaVersion: placedVersion, Payload: json.RawMessage(`{"held":true}`)}})
	if err != nil {
		t.Fatal(err)
	}
	heldPos := heldEvents[0].Position

	stop := make(chan struct{})
	var writers sync.WaitGroup
	for w := 0; w < 4; w++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if r, err := tryDo(http.MethodPost, s.URL+"/orders", `{"customer_id":"feed","currency":"EUR"}`); err != nil || r.Status != http.StatusCreated {
					t.Errorf("writer: %v %v", r, err)
					return
				}
			}
		}()
	}
	var got []int64
	after := int64(0)
	page := func() api.FeedPage {
		p := feedPage(t, fmt.Sprintf("%s/events?after=%d&limit=7", s.URL, after))
		if p.NextAfter < after {
			t.Fatalf("next_after went back from %d to %d", after, p.NextAfter)
		}
		for _, e := range p.Items {
			got = append(got, e.Position)
		}
		after = p.NextAfter
		return p
	}
	// While the transaction is open, no page passes its position, however much
	// the writers commit after it.
	deadline := time.Now().Add(30 * time.Second)
	for laterCommitted := 0; laterCommitted < 20; {
		p := page()
		if p.NextAfter >= heldPos {
			t.Fatalf("a page went to %d, past position %d of an open transaction", p.NextAfter, heldPos)
		}
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE global_position > $1`, heldPos).Scan(&laterCommitted); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("writers did not commit after the held transaction in time")
		}
	}
	if err := held.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the writers run on a little after the commit
	close(stop)
	writers.Wait()
	want := allPositions(t, pool)
	for deadline := time.Now().Add(30 * time.Second); ; {
		p := page()
		if p.AtHead && len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
	}
	checkSequence(t, got, want)
	if !slices.Contains(got, heldPos) {
		t.Fatalf("the late transaction's event %d was skipped", heldPos)
	}
}

func TestFeedFiltersAndBadRequests(t *testing.T) {
	t.Parallel()
	base := startServer(t, nil)
	placeOrders(t, base, 3)
	r := do(t, http.MethodPost, base+"/orders", `{"customer_id":"feed","currency":"EUR"}`)
	var placed api.Order
	if err := json.Unmarshal(r.Body, &placed); err != nil {
		t.Fatal(err)
	}
	if l := do(t, http.MethodPost, base+"/orders/"+placed.Id.String()+"/lines", `{"sku":"a","quantity":1,"unit_price_cents":100}`); l.Status != http.StatusOK {
		t.Fatalf("add line: %s", l)
	}
	if c := do(t, http.MethodPost, base+"/orders/"+placed.Id.String()+"/confirm", ""); c.Status != http.StatusOK {
		t.Fatalf("confirm: %s", c)
	}
	var all api.FeedPage
	for deadline := time.Now().Add(10 * time.Second); len(all.Items) < 6 && time.Now().Before(deadline); {
		all = feedPage(t, base+"/events")
	}
	if !all.AtHead || all.NextAfter != all.Items[len(all.Items)-1].Position {
		t.Fatalf("whole log: at_head %v next_after %d, %d items", all.AtHead, all.NextAfter, len(all.Items))
	}
	for _, e := range all.Items {
		if e.StreamType != "order" || e.StreamId == "" {
			t.Fatalf("item without its stream: %+v", e)
		}
	}
	confirmed := feedPage(t, base+"/events?types=OrderConfirmed,OrderCancelled")
	if len(confirmed.Items) != 1 || confirmed.Items[0].Type != "OrderConfirmed" || confirmed.Items[0].StreamId != placed.Id.String() {
		t.Fatalf("types filter: %+v", confirmed.Items)
	}
	if confirmed.NextAfter != all.NextAfter || !confirmed.AtHead {
		t.Fatalf("a filtered page must still move to the head: next_after %d, want %d", confirmed.NextAfter, all.NextAfter)
	}
	none := feedPage(t, base+"/events?stream_type=no_such_type")
	if len(none.Items) != 0 || none.NextAfter != all.NextAfter || !none.AtHead {
		t.Fatalf("stream_type=no_such_type: %+v", none)
	}
	paged := feedPage(t, fmt.Sprintf("%s/events?after=%d&limit=2", base, all.Items[0].Position))
	if len(paged.Items) != 2 || paged.Items[0].Position != all.Items[1].Position || paged.AtHead || paged.NextAfter != all.Items[2].Position {
		t.Fatalf("after and limit: %+v", paged)
	}

	p := checkProblem(t, "unknown type", do(t, http.MethodGet, base+"/events?types=OrderConfirmed,NoSuchEvent", "", rule...), http.StatusBadRequest, "validation_failed")
	if p.Errors == nil || (*p.Errors)[0].Field != "types" || !strings.Contains((*p.Errors)[0].Message, "NoSuchEvent") {
		t.Fatalf("unknown type problem: %+v", p)
	}
	checkProblem(t, "unknown type on the stream", do(t, http.MethodGet, base+"/events/stream?types=NoSuchEvent", "", rule...), http.StatusBadRequest, "validation_failed")
	for _, q := range []string{"after=-1", "after=abc", "limit=0", "limit=1001", "types=", "stream_type=Order"} {
		checkProblem(t, q, do(t, http.MethodGet, base+"/events?"+q, "", invalid...), http.StatusBadRequest, "validation_failed")
	}
	checkProblem(t, "bad Last-Event-ID", do(t, http.MethodGet, base+"/events/stream", "", "Last-Event-ID", "x1", invalid[0], invalid[1]), http.StatusBadRequest, "validation_failed")
}

// sseMsg is one message of an event stream.
type sseMsg struct {
	id    int64
	event string
	data  string
}

// sseStream is an open event stream read by a goroutine.
type sseStream struct {
	resp     *http.Response
	msgs     chan sseMsg
	comments chan string
	done     chan error // the read's end
}

func openStream(t testing.TB, client *http.Client, url string, lastID int64) *sseStream {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+staffToken)
	if lastID > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(lastID, 10))
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	s := &sseStream{resp: resp, msgs: make(chan sseMsg, 1<<16), comments: make(chan string, 1024), done: make(chan error, 1)}
	t.Cleanup(func() { _ = resp.Body.Close() })
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var m sseMsg
		hasID := false
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if hasID {
					s.msgs <- m
				}
				m, hasID = sseMsg{}, false
			case strings.HasPrefix(line, ":"):
				select {
				case s.comments <- line:
				default:
				}
			case strings.HasPrefix(line, "id: "):
				m.id, _ = strconv.ParseInt(line[4:], 10, 64)
				hasID = true
			case strings.HasPrefix(line, "event: "):
				m.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				m.data = line[6:]
			}
		}
		err := sc.Err()
		if err == nil {
			err = io.EOF
		}
		s.done <- err
	}()
	return s
}

// collect reads messages until the stream has given every position in want's range,
// or it ends; it returns the event positions seen and the last id.
func (s *sseStream) collectUntil(t testing.TB, lastWanted int64, timeout time.Duration) (events []int64, last int64, ended bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-s.msgs:
			if m.data != "" {
				events = append(events, m.id)
			}
			last = m.id
			if last >= lastWanted {
				return events, last, false
			}
		case <-s.done: //nolint:errcheck // the read ended; ended=true says so, and why does not matter here
			for {
				select {
				case m := <-s.msgs:
					if m.data != "" {
						events = append(events, m.id)
					}
					last = m.id
				default:
					return events, last, true
				}
			}
		case <-deadline:
			t.Fatalf("stream: position %d not reached within %v (at %d)", lastWanted, timeout, last)
		}
	}
}

func fixedAddr(t testing.TB) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// An event stream across a restart of the service: the stream ends cleanly at
// shutdown (which it does not hold up), and resuming with Last-Event-ID loses and
// repeats nothing.
func TestEventStreamResumesAcrossARestart(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	// REQUEST_TIMEOUT is short so that the idle stream below outlives it (and the 5 s
	// added for writes) soon; 100 ms made a command time out on a loaded machine.
	env := map[string]string{"LISTEN_ADDR": fixedAddr(t), "SSE_POLL": "100ms", "SSE_HEARTBEAT": "200ms", "REQUEST_TIMEOUT": "1s"}
	s1 := startServerOn(t, db, env)
	pool := dbPool(t, db)
	placeOrders(t, s1.URL, 5)
	stream := openStream(t, streamClient, s1.URL+"/events/stream", 0)
	want := allPositions(t, pool)
	got, _, ended := stream.collectUntil(t, want[len(want)-1], 20*time.Second)
	if ended {
		t.Fatal("stream ended early")
	}
	// Idle: heartbeats keep coming, and the stream outlives the server's read and
	// write timeouts for ordinary requests (REQUEST_TIMEOUT + 5s).
	opened := time.Now()
	heartbeats := 0
	for time.Since(opened) < 7*time.Second {
		select {
		case c := <-stream.comments:
			if strings.Contains(c, "heartbeat") {
				heartbeats++
			}
		case err := <-stream.done:
			t.Fatalf("an idle stream ended after %v: %v", time.Since(opened), err)
		case <-time.After(10 * time.Second):
			t.Fatal("no heartbeat on an idle stream")
		}
	}
	if heartbeats < 3 {
		t.Fatalf("%d heartbeats in 7s at SSE_HEARTBEAT=200ms", heartbeats)
	}
	placeOrders(t, s1.URL, 3) // while streaming, pushed as they commit
	want = allPositions(t, pool)
	more, last, _ := stream.collectUntil(t, want[len(want)-1], 20*time.Second)
	got = append(got, more...)

	begin := time.Now()
	s1.stop(t)
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("shutdown with an open stream took %v: the stream held it", d)
	}
	rest, last2, ended := stream.collectUntil(t, 1<<62, 10*time.Second)
	if !ended {
		t.Fatal("the stream did not end when the server shut down")
	}
	got, last = append(got, rest...), max(last, last2)

	s2 := startServerOn(t, db, env)
	placeOrders(t, s2.URL, 4)
	want = allPositions(t, pool)
	resumed := openStream(t, streamClient, s2.URL+"/events/stream", last)
	more, _, _ = resumed.collectUntil(t, want[len(want)-1], 20*time.Second)
	got = append(got, more...)
	checkSequence(t, got, want)
}

// A client that stops reading is disconnected (its stream is not buffered without
// bound) and resumes from the last id it received.
func TestSlowStreamClientIsCutOffAndResumes(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	s := startServerOn(t, db, map[string]string{"SSE_WRITE_TIMEOUT": "300ms", "SSE_POLL": "100ms"})
	pool := dbPool(t, db)
	// About 16 MB of events: more than the socket buffers hold.
	if _, err := pool.Exec(context.Background(), `INSERT INTO events (stream_type, stream_id, stream_version, event_id, event_type, schema_version, payload)
		SELECT 'bulk', 'b' || g, 1, gen_random_uuid(), 'Bulk', 1, jsonb_build_object('n', g, 'pad', repeat('x', 2000))
		FROM generate_series(1, 8000) g`); err != nil {
		t.Fatal(err)
	}
	want := allPositions(t, pool)
	// A client with a small receive buffer that reads nothing for a while.
	slow := &http.Client{Transport: testsupport.MustContract(&http.Transport{DialContext: (&net.Dialer{
		Control: func(_, _ string, c syscall.RawConn) error {
			var err error
			_ = c.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
			return err
		}}).DialContext})}
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/events/stream", nil)
	req.Header.Set("Authorization", "Bearer "+staffToken)
	resp, err := slow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(s.out.String(), "client too slow or gone"); {
		if time.Now().After(deadline) {
			t.Fatal("the server did not cut off a client that stopped reading")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Now read what reached the client before it was cut off: whole messages, then the end.
	var got []int64
	var last int64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var id int64
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "id: ") {
			id, _ = strconv.ParseInt(line[4:], 10, 64)
		}
		if line == "" && id > 0 {
			got, last, id = append(got, id), id, 0
		}
	}
	if last >= want[len(want)-1] {
		t.Fatalf("the slow client got everything (%d events): it was not cut off", len(got))
	}
	t.Logf("cut off after %d of %d events", len(got), len(want))
	// Resume from the last id, as often as it takes (a loaded machine may be slow
	// again): the events across all connections are the log, once, in order.
	for deadline := time.Now().Add(90 * time.Second); last < want[len(want)-1]; {
		if time.Now().After(deadline) {
			t.Fatalf("resuming did not reach the end: at %d of %d", last, want[len(want)-1])
		}
		resumed := openStream(t, streamClient, s.URL+"/events/stream", last)
		more, at, ended := resumed.collectUntil(t, want[len(want)-1], 60*time.Second)
		got, last = append(got, more...), max(last, at)
		_ = resumed.resp.Body.Close()
		if ended {
			t.Logf("resumed stream ended at %d; resuming again", at)
		}
	}
	checkSequence(t, got, want)
}

// Past SSE_MAX_STREAMS a stream is refused with 503 and Retry-After; closing one
// frees its place.
func TestEventStreamsAreCapped(t *testing.T) {
	t.Parallel()
	base := startServer(t, map[string]string{"SSE_MAX_STREAMS": "2"})
	a := openStream(t, streamClient, base+"/events/stream", 0)
	openStream(t, streamClient, base+"/events/stream", 0)
	r := do(t, http.MethodGet, base+"/events/stream", "")
	checkProblem(t, "third stream", r, http.StatusServiceUnavailable, "too_many_streams")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	_ = a.resp.Body.Close()
	waitStreamPlace(t, base, "a closed stream's place was not freed")
}

// waitStreamPlace waits until the staff caller may open an event stream again (a
// closed stream's place is given back when its handler ends).
func waitStreamPlace(t *testing.T, base, failure string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		req, _ := http.NewRequest(http.MethodGet, base+"/events/stream", nil)
		req.Header.Set("Authorization", "Bearer "+staffToken)
		resp, err := streamClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d", failure, resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The example consumer follows the stream across a restart of the service, prints
// every event once and in order and keeps its position in its file.
func TestFeedTailAcrossARestart(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	env := map[string]string{"LISTEN_ADDR": fixedAddr(t), "SSE_POLL": "100ms"}
	s1 := startServerOn(t, db, env)
	pool := dbPool(t, db)
	placeOrders(t, s1.URL, 3)
	posFile := filepath.Join(t.TempDir(), "position")
	out := &testsupport.SyncBuffer{}
	errOut := &testsupport.SyncBuffer{}
	tail := exec.Command(binPath, "feed", "tail", "--url", s1.URL, "--position-file", posFile, "--token", testsupport.Token("feed-reader", "events:read"))
	tail.Stdout, tail.Stderr = out, errOut
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	tailDone := make(chan error, 1)
	go func() { tailDone <- tail.Wait() }()
	defer func() {
		_ = tail.Process.Kill()
	}()
	waitLines := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); strings.Count(out.String(), "\n") < n; {
			if time.Now().After(deadline) {
				t.Fatalf("tail printed %d lines, want %d; stderr:\n%s", strings.Count(out.String(), "\n"), n, errOut.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitLines(3)
	s1.stop(t)
	s2 := startServerOn(t, db, env)
	placeOrders(t, s2.URL, 4)
	waitLines(7)
	if err := tail.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-tailDone:
		if err != nil {
			t.Fatalf("tail exited with %v; stderr:\n%s", err, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tail did not stop on SIGTERM")
	}
	var got []int64
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.Fields(line)
		p, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || len(f) < 3 || f[1] != "OrderPlaced" {
			t.Fatalf("tail line %q", line)
		}
		got = append(got, p)
	}
	want := allPositions(t, pool)
	checkSequence(t, got, want)
	b, err := os.ReadFile(posFile)
	if err != nil || strings.TrimSpace(string(b)) != strconv.FormatInt(want[len(want)-1], 10) {
		t.Fatalf("position file %q (%v), want %d", b, err, want[len(want)-1])
	}
	if !strings.Contains(errOut.String(), "reconnecting") {
		t.Fatalf("tail did not report its reconnection; stderr:\n%s", errOut.String())
	}
}

// With polling effectively off, a NOTIFY on feed.Channel (<name>_events) wakes the stream: the one the
// service's writers send after each commit (subscription.Notifier), and one sent from
// outside; HEAD answers the headers at once.
func TestEventStreamIsWokenByNotifications(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	s := startServerOn(t, db, map[string]string{"SSE_POLL": "1h"})
	pool := dbPool(t, db)
	head := do(t, http.MethodHead, s.URL+"/events/stream", "")
	if head.Status != http.StatusOK || !strings.HasPrefix(head.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("HEAD /events/stream: %d %s", head.Status, head.Header.Get("Content-Type"))
	}
	stream := openStream(t, streamClient, s.URL+"/events/stream", 0)
	time.Sleep(200 * time.Millisecond) // let the hub's first look (on subscribe) pass: the order must need the NOTIFY
	placeOrders(t, s.URL, 1)
	want := allPositions(t, pool)
	select {
	case m := <-stream.msgs: // woken by the command's own NOTIFY after its commit
		if m.id != want[0] || m.event != "OrderPlaced" {
			t.Fatalf("got %+v, want position %d", m, want[0])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the command's NOTIFY did not wake the stream (poll is 1h)")
	}
	placedVersion, _ := eventcodec.NewOrderRegistry().Version("OrderPlaced")
	if _, err := pool.Exec(context.Background(), `INSERT INTO events (stream_type, stream_id, stream_version, event_id, event_type, schema_version, payload)
		VALUES ('order', gen_random_uuid()::text, 1, gen_random_uuid(), 'OrderPlaced', $1, '{}')`, placedVersion); err != nil {
		t.Fatal(err)
	}
	want = allPositions(t, pool)[1:]
	for deadline := time.Now().Add(20 * time.Second); ; {
		if _, err := pool.Exec(context.Background(), `SELECT pg_notify($1, '')`, feed.Channel); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-stream.msgs:
			if m.id != want[0] || m.event != "OrderPlaced" {
				t.Fatalf("got %+v, want position %d", m, want[0])
			}
			return
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("a notification did not wake the stream")
		}
	}
}

// A stream idle for longer than SSE_WRITE_TIMEOUT is not cut off by a stale deadline
// when a large page finally comes.
func TestIdleStreamTakesALargePage(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	s := startServerOn(t, db, map[string]string{"SSE_WRITE_TIMEOUT": "300ms", "SSE_HEARTBEAT": "1h", "SSE_POLL": "100ms"})
	pool := dbPool(t, db)
	stream := openStream(t, streamClient, s.URL+"/events/stream", 0)
	time.Sleep(time.Second) // idle: the last write's deadline is long past
	if _, err := pool.Exec(context.Background(), `INSERT INTO events (stream_type, stream_id, stream_version, event_id, event_type, schema_version, payload)
		SELECT 'bulk', 'b' || g, 1, gen_random_uuid(), 'Bulk', 1, jsonb_build_object('n', g, 'pad', repeat('x', 2000))
		FROM generate_series(1, 300) g`); err != nil {
		t.Fatal(err)
	}
	want := allPositions(t, pool)
	got, _, ended := stream.collectUntil(t, want[len(want)-1], 30*time.Second)
	if ended {
		t.Fatalf("the stream ended after %d events: %s", len(got), s.out.String())
	}
	checkSequence(t, got, want)
}

// A stream ends after SSE_MAX_LIFETIME; the client reconnects.
func TestEventStreamEndsAfterItsLifetime(t *testing.T) {
	t.Parallel()
	base := startServer(t, map[string]string{"SSE_MAX_LIFETIME": "500ms"})
	stream := openStream(t, streamClient, base+"/events/stream", 0)
	select {
	case <-stream.done: //nolint:errcheck // ended, as it should; how it ended does not matter
	case <-time.After(20 * time.Second):
		t.Fatal("the stream outlived SSE_MAX_LIFETIME")
	}
}
