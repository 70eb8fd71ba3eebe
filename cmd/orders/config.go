package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of the service, read from the environment and then from
// flags (a flag wins), and validated before anything starts.
type Config struct {
	DatabaseURL          string
	ListenAddr           string
	LogLevel             string
	MaxConns             int
	RequestTimeout       time.Duration
	ShutdownTimeout      time.Duration
	BodyLimit            int64
	IdempotencyRetention time.Duration
	CommandAttempts      int
	MigrateOnStart       bool
	PprofAddr            string
	RunConsumers         bool   // run the asynchronous consumers (read models, process managers) in this process
	NotifyMode           string // after-commit (default) or in-transaction (for the benchmark only)
}

func defaultConfig() Config {
	return Config{
		ListenAddr:           ":8080",
		LogLevel:             "info",
		MaxConns:             16,
		RequestTimeout:       5 * time.Second,
		ShutdownTimeout:      20 * time.Second,
		BodyLimit:            64 << 10,
		IdempotencyRetention: 24 * time.Hour,
		CommandAttempts:      10,
		RunConsumers:         true,
		NotifyMode:           "after-commit",
	}
}

// env names, in one place so that the help text and the parser agree.
var envNames = map[string]string{
	"database-url":          "DATABASE_URL",
	"listen":                "LISTEN_ADDR",
	"log-level":             "LOG_LEVEL",
	"max-conns":             "DB_MAX_CONNS",
	"request-timeout":       "REQUEST_TIMEOUT",
	"shutdown-timeout":      "SHUTDOWN_TIMEOUT",
	"body-limit":            "BODY_LIMIT_BYTES",
	"idempotency-retention": "IDEMPOTENCY_RETENTION",
	"command-attempts":      "COMMAND_ATTEMPTS",
	"migrate":               "MIGRATE_ON_START",
	"pprof":                 "PPROF_ADDR",
	"consumers":             "RUN_CONSUMERS",
	"notify-mode":           "NOTIFY_MODE",
}

// parseConfig reads the environment (through getenv) and then args. Only database-url
// and log-level matter to `migrate`; the rest are checked for `serve`.
func parseConfig(name string, args []string, getenv func(string) string) (Config, error) {
	c := defaultConfig()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "PostgreSQL URL, e.g. postgres://user:pass@localhost:5432/orders")
	fs.StringVar(&c.ListenAddr, "listen", c.ListenAddr, "address to serve HTTP on")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.IntVar(&c.MaxConns, "max-conns", c.MaxConns, "database connection pool size")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", c.RequestTimeout, "time limit of one request, database work included")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long in-flight requests may finish after SIGTERM")
	fs.Int64Var(&c.BodyLimit, "body-limit", c.BodyLimit, "largest accepted request body, in bytes")
	fs.DurationVar(&c.IdempotencyRetention, "idempotency-retention", c.IdempotencyRetention, "how long Idempotency-Key responses are kept")
	fs.IntVar(&c.CommandAttempts, "command-attempts", c.CommandAttempts, "attempts of a command that keeps losing optimistic-concurrency races")
	fs.BoolVar(&c.MigrateOnStart, "migrate", c.MigrateOnStart, "apply pending migrations before serving")
	fs.BoolVar(&c.RunConsumers, "consumers", c.RunConsumers, "run the asynchronous consumers (customer_summary, fulfilment); one instance of each is active across replicas")
	fs.StringVar(&c.NotifyMode, "notify-mode", c.NotifyMode, "where commands NOTIFY consumers: after-commit, or in-transaction (slower; for the benchmark)")
	fs.StringVar(&c.PprofAddr, "pprof", c.PprofAddr, "if set, serve Go's /debug/pprof on this (private!) address, e.g. 127.0.0.1:6060")

	var problems []string
	fs.VisitAll(func(f *flag.Flag) {
		env := envNames[f.Name]
		f.Usage += " (env " + env + ")"
		if v := getenv(env); v != "" {
			if err := f.Value.Set(v); err != nil {
				problems = append(problems, fmt.Sprintf("%s=%q: %v", env, v, err))
			}
		}
	})
	if len(problems) > 0 {
		return c, errors.New("invalid configuration: " + strings.Join(problems, "; "))
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return c, c.validate()
}

func (c Config) validate() error {
	var problems []string
	check := func(ok bool, msg string) {
		if !ok {
			problems = append(problems, msg)
		}
	}
	check(c.DatabaseURL != "", "DATABASE_URL (or --database-url) is required, e.g. postgres://orders:orders@localhost:5432/orders; `make run` starts a development database for you")
	check(c.ListenAddr != "", "LISTEN_ADDR must not be empty")
	check(c.MaxConns >= 1 && c.MaxConns <= 1000, "DB_MAX_CONNS must be between 1 and 1000, got "+strconv.Itoa(c.MaxConns))
	check(c.RequestTimeout >= 10*time.Millisecond, "REQUEST_TIMEOUT must be at least 10ms, got "+c.RequestTimeout.String())
	check(c.ShutdownTimeout > 0, "SHUTDOWN_TIMEOUT must be positive")
	check(c.BodyLimit >= 1024, "BODY_LIMIT_BYTES must be at least 1024")
	check(c.IdempotencyRetention >= time.Minute, "IDEMPOTENCY_RETENTION must be at least 1m")
	check(c.CommandAttempts >= 1 && c.CommandAttempts <= 100, "COMMAND_ATTEMPTS must be between 1 and 100")
	check(c.NotifyMode == "after-commit" || c.NotifyMode == "in-transaction", "NOTIFY_MODE must be after-commit or in-transaction, got "+strconv.Quote(c.NotifyMode))
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		problems = append(problems, "LOG_LEVEL must be debug, info, warn or error, got "+strconv.Quote(c.LogLevel))
	}
	if len(problems) > 0 {
		return errors.New("invalid configuration:\n  - " + strings.Join(problems, "\n  - "))
	}
	return nil
}
