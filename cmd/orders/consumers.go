package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/example/orders/infrastructure/postgres"
	"github.com/example/orders/infrastructure/postgres/subscription"
	"github.com/example/orders/infrastructure/servicename"
)

// Exit codes of `orders consumers`.
const (
	consumersUnhealthy = 1 // status: a consumer is stopped or its last attempt failed
	consumersFailed    = 2 // it could not check, or bad usage
)

const consumersUsage = `usage:
  NAME consumers status [flags]                      name, position, lag, owner, error of each consumer
  NAME consumers reset CONSUMER --to POSITION [flags] move a consumer's checkpoint (it handles POSITION+1 next) and clear its error
  NAME consumers skip CONSUMER [flags]               move a stopped consumer past the event it fails on

status exits 0 when every consumer is healthy, 1 when one is stopped or failing,
2 when it cannot tell (configuration, connection, schema).
`

// runConsumers is `orders consumers status|reset|skip`.
func runConsumers(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	failed := func(err error) error { return &exitError{code: consumersFailed, err: err} }
	usage := strings.ReplaceAll(consumersUsage, "NAME", servicename.Name)
	if len(args) == 0 {
		_, _ = fmt.Fprint(out, usage)
		return failed(errors.New("consumers needs an action: status, reset or skip"))
	}
	action, rest := args[0], args[1:]
	var name string
	to := int64(-1)
	switch action {
	case "status":
	case "reset", "skip":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return failed(fmt.Errorf("consumers %s needs a consumer name", action))
		}
		name, rest = rest[0], rest[1:]
		if action == "reset" {
			fs := flag.NewFlagSet("consumers reset", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.Int64Var(&to, "to", -1, "the position to move to")
			// --to comes first; what follows are the usual settings.
			var settings []string
			for i := 0; i < len(rest); i++ {
				a := rest[i]
				if a == "--to" || a == "-to" {
					if i+1 >= len(rest) {
						return failed(errors.New("--to needs a position"))
					}
					settings = append(settings, a, rest[i+1])
					i++
				} else if strings.HasPrefix(a, "--to=") || strings.HasPrefix(a, "-to=") {
					settings = append(settings, a)
				}
			}
			if err := fs.Parse(settings); err != nil {
				return failed(fmt.Errorf("consumers reset: %w", err))
			}
			if to < 0 {
				return failed(errors.New("consumers reset needs --to POSITION (0 or more)"))
			}
			rest = withoutTo(rest)
		}
	case "help", "-h", "--help":
		_, _ = fmt.Fprint(out, usage)
		return nil
	default:
		_, _ = fmt.Fprint(out, usage)
		return failed(fmt.Errorf("unknown consumers action %q", action))
	}
	cfg, err := parseConfig("consumers "+action, rest, getenv)
	if err != nil {
		return failed(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pool, err := postgres.Connect(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return failed(err)
	}
	defer pool.Close()
	switch action {
	case "reset":
		if err := subscription.Reset(ctx, pool, name, to); err != nil {
			return failed(err)
		}
		_, _ = fmt.Fprintf(out, "consumers: %s reset to position %d; it handles %d next\n", name, to, to+1)
		return nil
	case "skip":
		pos, err := subscription.Skip(ctx, pool, name)
		if err != nil {
			return failed(err)
		}
		_, _ = fmt.Fprintf(out, "consumers: %s skipped the event at position %d\n", name, pos)
		return nil
	}
	all, err := subscription.Statuses(ctx, pool)
	if err != nil {
		return failed(err)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(w, "NAME\tPOSITION\tLAG_EVENTS\tLAG_SECONDS\tOWNER\tSTATE\tERROR")
	unhealthy := 0
	for _, s := range all {
		state := "running"
		switch {
		case s.Stopped:
			state = "STOPPED at " + strconv.FormatInt(s.ErrorPosition, 10)
		case s.Error != "":
			state = fmt.Sprintf("failing at %d (attempt %d)", s.ErrorPosition, s.Attempts)
		case !s.Held:
			state = "no owner"
		}
		if !s.Healthy() {
			unhealthy++
		}
		owner := s.Owner
		if owner == "" {
			owner = "-"
		}
		_, _ = fmt.Fprintf(w, "%s\t%d\t%d\t%.3f\t%s\t%s\t%s\n", s.Name, s.Position, s.LagEvents, s.LagSeconds, owner, state, oneLine(s.Error))
	}
	if err := w.Flush(); err != nil {
		return failed(err)
	}
	if unhealthy > 0 {
		return &exitError{code: consumersUnhealthy, err: fmt.Errorf("consumers: %d of %d stopped or failing", unhealthy, len(all))}
	}
	return nil
}

func withoutTo(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--to" || a == "-to":
			i++
		case strings.HasPrefix(a, "--to=") || strings.HasPrefix(a, "-to="):
		default:
			out = append(out, a)
		}
	}
	return out
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	if s == "" {
		return "-"
	}
	return s
}
