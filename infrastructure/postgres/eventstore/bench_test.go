package eventstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	es "github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/test/pgtest"
)

// BenchmarkAppend measures one-event appends with Exact expectations, each in its own
// transaction, against the floor: a transaction holding a single plain INSERT into
// events, which is what PostgreSQL's commit path alone allows. Compare the two in the
// same run; absolute numbers depend on the machine and on fsync (pgtest's own servers
// run with fsync off; point TEST_DATABASE_URL at a durable server for real numbers).
//
//	go test -run '^$' -bench Append -benchtime 3s ./infrastructure/postgres/eventstore/
func BenchmarkAppend(b *testing.B) {
	pool := pgtest.NewPool(b, pgtest.MaxConns(16))
	ctx := context.Background()
	for _, workers := range []int{1, 8} {
		b.Run(fmt.Sprintf("floor/c%d", workers), func(b *testing.B) {
			runWorkers(b, workers, func(_ int) func() error {
				return func() error {
					return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
						_, err := tx.Exec(ctx, `INSERT INTO events (stream_type, stream_id, stream_version, event_id, event_type, schema_version, payload)
							VALUES ('floor', $1, 1, $2, 'A', 1, '{"n":1}')`, uuid.NewString(), uuid.Must(uuid.NewV7()))
						return err
					})
				}
			})
		})
		b.Run(fmt.Sprintf("append/c%d", workers), func(b *testing.B) {
			runWorkers(b, workers, func(_ int) func() error {
				s, version := newStream(), int64(0)
				return func() error {
					out, err := appendTx(ctx, pool, s, es.Exact(version), event("A", 1))
					if err == nil {
						version = out[0].Version
					}
					return err
				}
			})
		})
	}
}

// runWorkers runs b.N operations spread over n goroutines, each with its own state,
// and reports operations per second.
func runWorkers(b *testing.B, n int, newWorker func(i int) func() error) {
	var next atomic.Int64
	errs := make(chan error, n)
	b.ResetTimer()
	for i := 0; i < n; i++ {
		op := newWorker(i)
		go func() {
			for next.Add(1) <= int64(b.N) {
				if err := op(); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
