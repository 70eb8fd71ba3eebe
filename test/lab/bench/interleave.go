package main

import (
	"context"
	"fmt"
)

// contender is one of the things compared in an interleaved run: the service over
// HTTP, or a raw-SQL baseline.
type contender struct {
	name string
	// newOp returns worker i's operation for a run at concurrency conc.
	newOp func(conc, i int) func(ctx context.Context) outcome
	// prepare, if set, runs before each run, unmeasured; last is this contender's
	// previous run at this concurrency, if any.
	prepare func(ctx context.Context, conc int, last *sample) error
	// profile, with -cpuprofile, saves a CPU profile of the service (of the CRUD
	// server when crud) during this contender's first run at profileWorkers, as
	// cpu-<profile>-c8.pprof.
	profile string
	crud    bool
}

// interleave measures every contender at every concurrency, round after round, with
// the contenders in a rotated order each round (A B C, B C A, C A B), so that drifts
// of the machine (noise, other load, the tables growing) hit all of them alike. It
// returns the runs by contender and concurrency.
func interleave(ctx context.Context, env *environment, label string, cs []contender) (map[string]map[int][]sample, error) {
	out := map[string]map[int][]sample{}
	for _, c := range cs {
		out[c.name] = map[int][]sample{}
	}
	cfg := env.cfg
	for round := 0; round < cfg.rounds; round++ {
		for _, conc := range cfg.concurrency {
			for k := range cs {
				c := cs[(k+round)%len(cs)]
				if c.prepare != nil {
					var last *sample
					if prev := out[c.name][conc]; len(prev) > 0 {
						last = &prev[len(prev)-1]
					}
					if err := c.prepare(ctx, conc, last); err != nil {
						return out, fmt.Errorf("%s before %s at concurrency %d: %w", label, c.name, conc, err)
					}
				}
				l := cfg.comparisonLoad(c.name, conc, func(i int) func(context.Context) outcome { return c.newOp(conc, i) })
				wait := func() {}
				if env.cfg.cpuProfile && c.profile != "" && conc == profileWorkers && round == 0 && !cfg.smoke {
					wait = env.startProfile(ctx, fmt.Sprintf("%s-c%d", c.profile, conc), cfg.duration, c.crud)
				}
				s := runLoad(ctx, env, l)
				wait()
				out[c.name][conc] = append(out[c.name][conc], s)
				r := summarize(c.name, conc, []sample{s})
				logf("  %s round %d/%d c=%-3d %-6s %8.1f ops/s  p50 %6.2f ms  p99 %7.2f ms  errors %d",
					label, round+1, cfg.rounds, conc, c.name, r.RPS, r.P50, r.P99, r.Errors)
				if ctx.Err() != nil {
					return out, ctx.Err()
				}
			}
		}
	}
	return out, nil
}

// comparisonLoad is one measured run of a comparison: a fixed small count of
// operations in smoke mode, cfg.duration otherwise.
func (c config) comparisonLoad(name string, workers int, newOp func(i int) func(context.Context) outcome) load {
	l := load{name: name, workers: workers, newOp: newOp}
	if c.smoke {
		l.count = c.count(workers)
	} else {
		l.duration = c.duration
	}
	return l
}

// warmUp runs each contender briefly at concurrency 8 (or the largest below it),
// unrecorded: connections, prepared statements and caches are then in place for all.
func warmUp(ctx context.Context, env *environment, cs []contender) error {
	conc := env.cfg.concurrency[0]
	for _, c := range env.cfg.concurrency {
		if c <= 8 {
			conc = c
		}
	}
	for _, c := range cs {
		if c.prepare != nil {
			if err := c.prepare(ctx, conc, nil); err != nil {
				return fmt.Errorf("warm-up of %s: %w", c.name, err)
			}
		}
		s := runLoad(ctx, env, load{name: c.name, workers: conc, count: 4 * conc,
			newOp: func(i int) func(context.Context) outcome { return c.newOp(conc, i) }})
		if s.errors > 0 {
			return fmt.Errorf("warm-up of %s: %d errors, first: %v", c.name, s.errors, s.firstErrs)
		}
	}
	return nil
}

// ratio is a/b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
