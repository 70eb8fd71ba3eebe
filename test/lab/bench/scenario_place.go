package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
)

// placeRow compares placing an order over HTTP with the raw-SQL limits at one
// concurrency.
type placeRow struct {
	Concurrency int     `json:"concurrency"`
	HTTP        result  `json:"http"`
	Naive       result  `json:"naive_sql"`
	Floor       result  `json:"floor_sql"`
	CRUD        result  `json:"crud"`
	VsCRUD      float64 `json:"http_rps_over_crud_rps"`
	VsNaive     float64 `json:"http_rps_over_naive_rps"`
	VsFloor     float64 `json:"http_rps_over_floor_rps"`
}

// placeWithConsumers measures the service's place order again with its asynchronous
// consumers (RUN_CONSUMERS=true) running in the same process, as `make run`
// and the compose file deploy it: the comparisons above run without them, as an API
// replica beside a separate consumer replica would. Each run's CPU counts until the
// consumers have handled its events. Not interleaved with the CRUD server: compare it
// with the CRUD median of the comparisons.
func placeWithConsumers(ctx context.Context, env *environment, rep *report, http contender) error {
	if !slices.Contains(env.cfg.concurrency, profileWorkers) {
		return nil
	}
	if err := env.setConsumers(ctx, true); err != nil {
		return err
	}
	var runs []sample
	for range env.cfg.rounds {
		l := env.cfg.comparisonLoad("place order (HTTP, consumers running)", profileWorkers,
			func(i int) func(context.Context) outcome { return http.newOp(profileWorkers, i) })
		runs = append(runs, runLoad(ctx, env, l))
	}
	r := summarize("place order (HTTP, consumers running)", profileWorkers, runs)
	rep.PlaceWithConsumers = &r
	rep.check("place", r.Errors == 0 && r.Ops > 0, errorsOf(r))
	return env.setConsumers(ctx, false)
}

// runPlace is scenarios 1 and 2: POST /orders against the naive statement-by-statement
// transaction and the floor, interleaved, on the same database.
func runPlace(ctx context.Context, env *environment, rep *report) error {
	raw := newRawWriter(env.pool)
	var mu sync.Mutex
	var placed []string
	cs := []contender{
		{name: "floor", newOp: func(_, _ int) func(context.Context) outcome {
			return func(ctx context.Context) outcome { return sqlOutcome(raw.floor(ctx)) }
		}},
		{name: "naive", newOp: func(_, i int) func(context.Context) outcome {
			customer := fmt.Sprintf("bench-naive-%d", i)
			return func(ctx context.Context) outcome { return sqlOutcome(raw.placeNaive(ctx, customer)) }
		}},
		{name: "crud", profile: "crud-place", crud: true, newOp: func(_, i int) func(context.Context) outcome {
			customer := fmt.Sprintf("bench-crud-%d", i)
			return func(ctx context.Context) outcome {
				_, o := env.crudHTTP.placeOrder(ctx, customer)
				return o
			}
		}},
		{name: "http", profile: "place", newOp: func(_, i int) func(context.Context) outcome {
			customer := fmt.Sprintf("bench-place-%d", i)
			return func(ctx context.Context) outcome {
				id, o := env.http.placeOrder(ctx, customer)
				if o.err == nil {
					mu.Lock()
					placed = append(placed, id)
					mu.Unlock()
				}
				return o
			}
		}},
	}
	if err := warmUp(ctx, env, cs); err != nil {
		return err
	}
	runs, err := interleave(ctx, env, "place", cs)
	if err != nil {
		return err
	}
	for _, conc := range env.cfg.concurrency {
		row := placeRow{
			Concurrency: conc,
			HTTP:        summarize("place order (HTTP)", conc, runs["http"][conc]),
			Naive:       summarize("place order (naive SQL)", conc, runs["naive"][conc]),
			Floor:       summarize("floor (BEGIN; INSERT; COMMIT)", conc, runs["floor"][conc]),
			CRUD:        summarize("place order (CRUD server)", conc, runs["crud"][conc]),
		}
		row.VsCRUD = ratio(row.HTTP.RPS, row.CRUD.RPS)
		row.VsNaive = ratio(row.HTTP.RPS, row.Naive.RPS)
		row.VsFloor = ratio(row.HTTP.RPS, row.Floor.RPS)
		rep.Place = append(rep.Place, row)
		for _, r := range []result{row.HTTP, row.Naive, row.Floor, row.CRUD} {
			rep.check("place", r.Errors == 0 && r.Ops > 0, errorsOf(r))
		}
	}
	env.remember(placed...)
	if err := placeWithConsumers(ctx, env, rep, cs[len(cs)-1]); err != nil {
		return err
	}

	// The placed orders must be readable, at version 1, from the read model.
	var bad []string
	for range min(20, len(placed)) {
		id := placed[rand.IntN(len(placed))] //nolint:gosec // load pattern, not security
		ord, err := env.http.getOrder(ctx, "/orders/"+id)
		if err != nil || ord.ID != id || ord.Version != 1 || ord.Status != "pending" {
			bad = append(bad, fmt.Sprintf("%s: %+v %v", id, ord, err))
		}
	}
	rep.check("place", len(bad) == 0, fmt.Sprintf("placed orders read back wrong: %v", bad))
	return nil
}
