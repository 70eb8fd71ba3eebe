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
	SSEMaxStreams        int
	SSEHeartbeat         time.Duration
	SSEPoll              time.Duration
	SSEWriteTimeout      time.Duration
	SSEMaxLifetime       time.Duration
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
		SSEMaxStreams:        100,
		SSEHeartbeat:         15 * time.Second,
		SSEPoll:              time.Second,
		SSEWriteTimeout:      10 * time.Second,
		SSEMaxLifetime:       time.Hour,
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
	"sse-max-streams":       "SSE_MAX_STREAMS",
	"sse-heartbeat":         "SSE_HEARTBEAT",
	"sse-poll":              "SSE_POLL",
	"sse-write-timeout":     "SSE_WRITE_TIMEOUT",
	"sse-max-lifetime":      "SSE_MAX_LIFETIME",
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
	fs.StringVar(&c.PprofAddr, "pprof", c.PprofAddr, "if set, serve Go's /debug/pprof on this (private!) address, e.g. 127.0.0.1:6060")
	fs.IntVar(&c.SSEMaxStreams, "sse-max-streams", c.SSEMaxStreams, "event streams (GET /events/stream) this process serves at once; past it 503")
	fs.DurationVar(&c.SSEHeartbeat, "sse-heartbeat", c.SSEHeartbeat, "a comment on an idle event stream this often")
	fs.DurationVar(&c.SSEPoll, "sse-poll", c.SSEPoll, "how often event streams look for new events when no notification wakes them")
	fs.DurationVar(&c.SSEWriteTimeout, "sse-write-timeout", c.SSEWriteTimeout, "an event stream whose client does not take a page within this is ended (it resumes with Last-Event-ID)")
	fs.DurationVar(&c.SSEMaxLifetime, "sse-max-lifetime", c.SSEMaxLifetime, "an event stream is ended after this (the client reconnects); 0 for no limit")

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
	check(c.SSEMaxStreams >= 1 && c.SSEMaxStreams <= 100000, "SSE_MAX_STREAMS must be between 1 and 100000")
	check(c.SSEHeartbeat >= 10*time.Millisecond, "SSE_HEARTBEAT must be at least 10ms")
	check(c.SSEPoll >= 10*time.Millisecond, "SSE_POLL must be at least 10ms")
	check(c.SSEWriteTimeout >= 10*time.Millisecond, "SSE_WRITE_TIMEOUT must be at least 10ms")
	check(c.SSEMaxLifetime >= 0, "SSE_MAX_LIFETIME must not be negative")
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
