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
  NAME consumers status [flags]                      name, partition, position, lag, owner, state, error of each consumer's partitions
  NAME consumers reset CONSUMER --to POSITION [--partition P] [flags]
                                                    move a consumer's checkpoint (it handles POSITION+1 next) and clear its error;
                                                    every partition unless --partition
  NAME consumers skip CONSUMER [--partition P] [flags]
                                                    move a stopped partition (every failing one unless --partition) past the event it fails on

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
	to, partition := int64(-1), int64(subscription.AllPartitions)
	switch action {
	case "status":
	case "reset", "skip":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return failed(fmt.Errorf("consumers %s needs a consumer name", action))
		}
		name, rest = rest[0], rest[1:]
		fs := flag.NewFlagSet("consumers "+action, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		if action == "reset" {
			fs.Int64Var(&to, "to", -1, "the position to move to")
		}
		fs.Int64Var(&partition, "partition", int64(subscription.AllPartitions), "the partition (default: every one)")
		// --to and --partition come first; what follows are the usual settings.
		var own []string
		own, rest = ownFlags(rest, action == "reset")
		if err := fs.Parse(own); err != nil {
			return failed(fmt.Errorf("consumers %s: %w", action, err))
		}
		if action == "reset" && to < 0 {
			return failed(errors.New("consumers reset needs --to POSITION (0 or more)"))
		}
		if partition < 0 && partition != subscription.AllPartitions || partition > 1<<20 {
			return failed(fmt.Errorf("consumers %s: --partition must be 0 or more", action))
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
		if err := subscription.ResetPartition(ctx, pool, name, int(partition), to); err != nil {
			return failed(err)
		}
		_, _ = fmt.Fprintf(out, "consumers: %s%s reset to position %d; it handles %d next\n", name, partitionLabel(partition), to, to+1)
		return nil
	case "skip":
		skipped, err := subscription.SkipPartition(ctx, pool, name, int(partition))
		if err != nil {
			return failed(err)
		}
		for _, s := range skipped {
			_, _ = fmt.Fprintf(out, "consumers: %s partition %d skipped the event at position %d\n", name, s.Partition, s.Position)
		}
		return nil
	}
	all, err := subscription.Statuses(ctx, pool)
	if err != nil {
		return failed(err)
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(w, "NAME\tPARTITION\tPOSITION\tLAG_EVENTS\tLAG_SECONDS\tOWNER\tSTATE\tERROR")
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
		_, _ = fmt.Fprintf(w, "%s\t%d/%d\t%d\t%d\t%.3f\t%s\t%s\t%s\n", s.Name, s.Partition, s.Partitions, s.Position, s.LagEvents, s.LagSeconds, owner, state, oneLine(s.Error))
	}
	if err := w.Flush(); err != nil {
		return failed(err)
	}
	if unhealthy > 0 {
		return &exitError{code: consumersUnhealthy, err: fmt.Errorf("consumers: %d of %d partitions stopped or failing", unhealthy, len(all))}
	}
	return nil
}

// ownFlags splits args into the action's own flags (--partition, and --to when withTo,
// as "--x V" or "--x=V") and the rest.
func ownFlags(args []string, withTo bool) (own, rest []string) {
	names := []string{"partition"}
	if withTo {
		names = append(names, "to")
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		matched := false
		for _, n := range names {
			switch {
			case a == "--"+n || a == "-"+n:
				own = append(own, a)
				if i+1 < len(args) {
					own = append(own, args[i+1])
					i++
				}
				matched = true
			case strings.HasPrefix(a, "--"+n+"=") || strings.HasPrefix(a, "-"+n+"="):
				own = append(own, a)
				matched = true
			}
		}
		if !matched {
			rest = append(rest, a)
		}
	}
	return own, rest
}

func partitionLabel(p int64) string {
	if p < 0 {
		return ""
	}
	return " partition " + strconv.FormatInt(p, 10)
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
