// Command orders is the order service: `orders serve` runs the HTTP API,
// `orders migrate up|down|status` manages the database schema, and `orders verify`
// and `orders rebuild` check and repair the read model against the events.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/example/orders/infrastructure/logging"
	"github.com/example/orders/infrastructure/servicename"
)

// usage names the binary after the service (servicename.Name, which `make rename`
// changes along with this directory's name).
var usage = strings.ReplaceAll(`usage:
  NAME serve [flags]                 run the HTTP API
  NAME migrate up|down|status [flags] manage the database schema
  NAME verify [flags]                check every read model and the log's versions against the events
  NAME rebuild [READ_MODEL] [flags]  recompute the read models (or the one named, e.g. order_overview) from the events
  NAME consumers status|reset|skip   the asynchronous consumers: lag, errors; move a checkpoint
  NAME healthcheck [--url URL]       GET /readyz (of LISTEN_ADDR); exit 0 on 2xx, else 1
  NAME token --sub ID [--scope S] [--ttl D]  print an HS256 development token (needs AUTH_HS256_SECRET)
  NAME keys new|rotate               print a new PII_KEK; re-wrap every data key under PII_KEK
  NAME feed tail [--url URL] [--types T1,T2] [--stream-type T] [--position-file PATH]
                                     follow GET /events/stream, print each event, keep the position

Settings come from the environment and can be overridden by flags; run
"NAME serve -h" for the list.
`, "NAME", servicename.Name)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, servicename.Name+":", err)
		os.Exit(exitCode(err))
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		_, _ = fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	switch args[0] {
	case "serve":
		cfg, err := parseConfig("serve", args[1:], getenv)
		if err != nil {
			return err
		}
		log, err := logging.New(stdout, cfg.LogLevel)
		if err != nil {
			return err
		}
		if getenv("GOGC") == "" {
			debug.SetGCPercent(serveGCPercent)
		}
		return runServe(ctx, cfg, log)
	case "migrate":
		if len(args) < 2 {
			return fmt.Errorf("migrate needs an action: up, down or status")
		}
		cfg, err := parseConfig("migrate", args[2:], getenv)
		if err != nil {
			return err
		}
		log, err := logging.New(stderr, cfg.LogLevel)
		if err != nil {
			return err
		}
		return runMigrate(ctx, cfg, args[1], stdout, log)
	case "verify":
		return runVerify(ctx, args[1:], getenv, stdout)
	case "rebuild":
		return runRebuild(ctx, args[1:], getenv, stdout)
	case "feed":
		return runFeed(ctx, args[1:], getenv, stdout, stderr)
	case "consumers":
		return runConsumers(ctx, args[1:], getenv, stdout)
	case "healthcheck":
		return runHealthcheck(ctx, args[1:], getenv, stdout)
	case "token":
		return runToken(args[1:], getenv, stdout, stderr)
	case "keys":
		return runKeys(ctx, args[1:], getenv, stdout)
	case "help", "-h", "--help":
		_, _ = fmt.Fprint(stdout, usage)
		return nil
	}
	_, _ = fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
