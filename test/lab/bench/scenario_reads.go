package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
)

// readRow is one read at one concurrency.
type readRow struct {
	Concurrency int    `json:"concurrency"`
	GetOrder    result `json:"get_order"`
	ListPage    result `json:"list_page"`
}

// runReads is scenario 6: GET /orders/{id} of a random order the run has written, and
// GET /orders?limit=20 (the newest page), at each concurrency.
func runReads(ctx context.Context, env *environment, rep *report) error {
	ids := env.placed
	if len(ids) == 0 {
		var err error
		if ids, err = prefill(ctx, env, 100, prefilledLines); err != nil {
			return err
		}
	}
	a, err := env.http.do(ctx, http.MethodGet, "/orders?limit=20", nil)
	if o := expect(a, err, http.StatusOK); o.err != nil {
		return o.err
	}
	var page struct {
		Items []orderJSON `json:"items"`
	}
	if err := json.Unmarshal(a.body, &page); err != nil || len(page.Items) < 1 || len(page.Items) > 20 {
		rep.check("reads", false, fmt.Sprintf("GET /orders?limit=20 returned %d orders (%v)", len(page.Items), err))
	}

	get := func(int) func(context.Context) outcome {
		return func(ctx context.Context) outcome {
			a, err := env.http.do(ctx, http.MethodGet, "/orders/"+ids[rand.IntN(len(ids))], nil) //nolint:gosec // load pattern, not security
			return expect(a, err, http.StatusOK)
		}
	}
	list := func(int) func(context.Context) outcome {
		return func(ctx context.Context) outcome {
			a, err := env.http.do(ctx, http.MethodGet, "/orders?limit=20", nil)
			return expect(a, err, http.StatusOK)
		}
	}
	for _, conc := range env.cfg.concurrency {
		row := readRow{Concurrency: conc}
		for _, k := range []struct {
			name string
			op   func(int) func(context.Context) outcome
			out  *result
		}{{"get order", get, &row.GetOrder}, {"list page", list, &row.ListPage}} {
			l := load{name: k.name, workers: conc, newOp: k.op}
			if env.cfg.smoke {
				l.count = env.cfg.count(conc)
			} else {
				l.duration = env.cfg.duration
			}
			*k.out = summarize(k.name, conc, []sample{runLoad(ctx, env, l)})
			rep.check("reads", k.out.Errors == 0 && k.out.Ops > 0, errorsOf(*k.out))
			logf("  reads c=%-3d %-9s %8.1f req/s  p50 %6.2f ms  p99 %7.2f ms", conc, k.name, k.out.RPS, k.out.P50, k.out.P99)
		}
		rep.Reads = append(rep.Reads, row)
	}
	return nil
}
