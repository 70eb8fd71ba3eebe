package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/example/orders/infrastructure/auth"
	"github.com/example/orders/infrastructure/personaldata"
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
	RunConsumers         bool // run the asynchronous consumers (read models, process managers) in this process
	// ConsumerInterval is the shortest time between two reads of a consumer: under load
	// it batches the events of many commits, at the price of up to this much lag.
	ConsumerInterval time.Duration
	// ConsumerPartitions is how many partitions each consumer runs as (unless it says
	// otherwise in code): the replicas share them. Changing it is safe on a running
	// system; the new N applies once every replica asks for it.
	ConsumerPartitions int

	// MigrateDatabaseURL connects `migrate` (and serve --migrate) as the owner of the
	// schema; DatabaseURL, the service's own connection, should log in as AppDBRole
	// (or a member of it). Empty: DatabaseURL.
	MigrateDatabaseURL string
	// AppDBRole is the role `migrate up` grants the service's privileges to:
	// "<database>_app" when empty, "none" to skip (single-role setup).
	AppDBRole string

	// AuthMode is "" or "jwt" (tokens are checked; a key source is required) or
	// "none" (no authentication: every caller may do everything).
	AuthMode          string
	AuthJWKSURL       string
	AuthPublicKeyFile string
	AuthHS256Secret   string
	AuthIssuer        string
	AuthAudience      string
	AuthLeeway        time.Duration
	// CORSAllowedOrigins is a comma-separated list; empty: no CORS.
	CORSAllowedOrigins     string
	MetricsAddr            string
	SSEMaxStreams          int
	SSEMaxStreamsPerCaller int
	SSEHeartbeat           time.Duration
	SSEPoll                time.Duration
	SSEWriteTimeout        time.Duration
	SSEMaxLifetime         time.Duration
	// PIIKEK (or the file PIIKEKFile) is the key encryption key that wraps customers'
	// data keys; PIIKEKPrevious (or its file) is the one before it, during a rotation.
	PIIKEK, PIIKEKFile                 string
	PIIKEKPrevious, PIIKEKPreviousFile string
}

func defaultConfig() Config {
	return Config{
		ListenAddr:             ":8080",
		LogLevel:               "info",
		MaxConns:               16,
		RequestTimeout:         5 * time.Second,
		ShutdownTimeout:        20 * time.Second,
		BodyLimit:              64 << 10,
		IdempotencyRetention:   24 * time.Hour,
		CommandAttempts:        10,
		RunConsumers:           true,
		ConsumerInterval:       10 * time.Millisecond,
		ConsumerPartitions:     1,
		AuthLeeway:             30 * time.Second,
		SSEMaxStreams:          100,
		SSEMaxStreamsPerCaller: 10,
		SSEHeartbeat:           15 * time.Second,
		SSEPoll:                time.Second,
		SSEWriteTimeout:        10 * time.Second,
		SSEMaxLifetime:         time.Hour,
	}
}

// env names, in one place so that the help text and the parser agree.
var envNames = map[string]string{ //nolint:gosec // G101: names of environment variables, not credentials
	"database-url":               "DATABASE_URL",
	"listen":                     "LISTEN_ADDR",
	"log-level":                  "LOG_LEVEL",
	"max-conns":                  "DB_MAX_CONNS",
	"request-timeout":            "REQUEST_TIMEOUT",
	"shutdown-timeout":           "SHUTDOWN_TIMEOUT",
	"body-limit":                 "BODY_LIMIT_BYTES",
	"idempotency-retention":      "IDEMPOTENCY_RETENTION",
	"command-attempts":           "COMMAND_ATTEMPTS",
	"migrate":                    "MIGRATE_ON_START",
	"pprof":                      "PPROF_ADDR",
	"consumers":                  "RUN_CONSUMERS",
	"consumer-interval":          "CONSUMER_INTERVAL",
	"consumer-partitions":        "CONSUMER_PARTITIONS",
	"migrate-database-url":       "MIGRATE_DATABASE_URL",
	"app-db-role":                "APP_DB_ROLE",
	"auth-mode":                  "AUTH_MODE",
	"auth-jwks-url":              "AUTH_JWKS_URL",
	"auth-public-key-file":       "AUTH_PUBLIC_KEY_FILE",
	"auth-hs256-secret":          "AUTH_HS256_SECRET",
	"auth-issuer":                "AUTH_ISSUER",
	"auth-audience":              "AUTH_AUDIENCE",
	"auth-leeway":                "AUTH_LEEWAY",
	"cors-allowed-origins":       "CORS_ALLOWED_ORIGINS",
	"metrics-addr":               "METRICS_ADDR",
	"sse-max-streams":            "SSE_MAX_STREAMS",
	"sse-max-streams-per-caller": "SSE_MAX_STREAMS_PER_CALLER",
	"sse-heartbeat":              "SSE_HEARTBEAT",
	"sse-poll":                   "SSE_POLL",
	"sse-write-timeout":          "SSE_WRITE_TIMEOUT",
	"sse-max-lifetime":           "SSE_MAX_LIFETIME",
	"pii-kek":                    "PII_KEK",
	"pii-kek-file":               "PII_KEK_FILE",
	"pii-kek-previous":           "PII_KEK_PREVIOUS",
	"pii-kek-previous-file":      "PII_KEK_PREVIOUS_FILE",
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
	fs.StringVar(&c.MetricsAddr, "metrics-addr", c.MetricsAddr, "if set, serve GET /metrics on this address only, not on the main listener (e.g. :9090, a port the API's clients do not reach)")
	fs.BoolVar(&c.RunConsumers, "consumers", c.RunConsumers, "run the asynchronous consumers (read models and reactors); one instance of each is active across replicas")
	fs.IntVar(&c.ConsumerPartitions, "consumer-partitions", c.ConsumerPartitions, "partitions each consumer runs as, shared by the replicas (1: one replica at a time works on a consumer)")
	fs.DurationVar(&c.ConsumerInterval, "consumer-interval", c.ConsumerInterval, "shortest time between two reads of a consumer: under load, larger batches for up to this much more lag")
	fs.StringVar(&c.PprofAddr, "pprof", c.PprofAddr, "if set, serve Go's /debug/pprof on this (private!) address, e.g. 127.0.0.1:6060")
	fs.StringVar(&c.MigrateDatabaseURL, "migrate-database-url", c.MigrateDatabaseURL, "PostgreSQL URL of the schema's owner, for migrations (default: database-url)")
	fs.StringVar(&c.AppDBRole, "app-db-role", c.AppDBRole, `role that migrate grants the service's privileges to (default "<database>_app"; "none" skips)`)
	fs.StringVar(&c.AuthMode, "auth-mode", c.AuthMode, `"jwt" (default: bearer tokens required) or "none" (no authentication; development only)`)
	fs.StringVar(&c.AuthJWKSURL, "auth-jwks-url", c.AuthJWKSURL, "URL of the JWKS whose RS256/ES256 keys sign the tokens")
	fs.StringVar(&c.AuthPublicKeyFile, "auth-public-key-file", c.AuthPublicKeyFile, "PEM file of the RSA or P-256 public key that signs the tokens")
	fs.StringVar(&c.AuthHS256Secret, "auth-hs256-secret", c.AuthHS256Secret, "HS256 secret (at least 32 bytes) for development, tests and simple setups; prefer the env variable")
	fs.StringVar(&c.AuthIssuer, "auth-issuer", c.AuthIssuer, "if set, tokens must have this iss")
	fs.StringVar(&c.AuthAudience, "auth-audience", c.AuthAudience, "if set, tokens must have this aud")
	fs.DurationVar(&c.AuthLeeway, "auth-leeway", c.AuthLeeway, "clock skew allowed on exp, nbf and iat")
	fs.StringVar(&c.CORSAllowedOrigins, "cors-allowed-origins", c.CORSAllowedOrigins, "comma-separated origins browsers may call from (default none: no CORS)")
	fs.IntVar(&c.SSEMaxStreams, "sse-max-streams", c.SSEMaxStreams, "event streams (GET /events/stream) this process serves at once; past it 503")
	fs.IntVar(&c.SSEMaxStreamsPerCaller, "sse-max-streams-per-caller", c.SSEMaxStreamsPerCaller, "event streams one caller (token subject) holds on this process at once; past it 429")
	fs.DurationVar(&c.SSEHeartbeat, "sse-heartbeat", c.SSEHeartbeat, "a comment on an idle event stream this often")
	fs.DurationVar(&c.SSEPoll, "sse-poll", c.SSEPoll, "how often event streams look for new events when no notification wakes them")
	fs.DurationVar(&c.SSEWriteTimeout, "sse-write-timeout", c.SSEWriteTimeout, "an event stream whose client does not take a page within this is ended (it resumes with Last-Event-ID)")
	fs.DurationVar(&c.SSEMaxLifetime, "sse-max-lifetime", c.SSEMaxLifetime, "an event stream is ended after this (the client reconnects); 0 for no limit")
	fs.StringVar(&c.PIIKEK, "pii-kek", c.PIIKEK, "key encryption key of customers' personal data: base64 of 32 random bytes (openssl rand -base64 32); prefer the env variable or the file")
	fs.StringVar(&c.PIIKEKFile, "pii-kek-file", c.PIIKEKFile, "file holding the key encryption key (instead of pii-kek)")
	fs.StringVar(&c.PIIKEKPrevious, "pii-kek-previous", c.PIIKEKPrevious, "during a key rotation, the previous key encryption key (see `keys rotate`)")
	fs.StringVar(&c.PIIKEKPreviousFile, "pii-kek-previous-file", c.PIIKEKPreviousFile, "file holding the previous key encryption key")

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
	if err := c.validate(); err != nil {
		return c, err
	}
	if name == "serve" {
		return c, c.validateAuth()
	}
	return c, nil
}

// validateAuth is serve's: it refuses to start with no authentication configured,
// unless AUTH_MODE=none says so explicitly.
func (c Config) validateAuth() error {
	var problems []string
	sources := 0
	for _, s := range []string{c.AuthJWKSURL, c.AuthPublicKeyFile, c.AuthHS256Secret} {
		if s != "" {
			sources++
		}
	}
	switch c.AuthMode {
	case "none":
		if sources > 0 {
			problems = append(problems, "AUTH_MODE=none turns authentication off, but a key is configured too: drop one or the other")
		}
	case "", "jwt":
		switch {
		case sources == 0:
			problems = append(problems, "no authentication configured: set AUTH_JWKS_URL, AUTH_PUBLIC_KEY_FILE or AUTH_HS256_SECRET "+
				"(`make run` sets a development secret), or AUTH_MODE=none to serve without authentication (development only)")
		case sources > 1:
			problems = append(problems, "set only one of AUTH_JWKS_URL, AUTH_PUBLIC_KEY_FILE and AUTH_HS256_SECRET")
		}
		if c.AuthHS256Secret != "" && len(c.AuthHS256Secret) < auth.MinHS256SecretLength {
			problems = append(problems, fmt.Sprintf("AUTH_HS256_SECRET must be at least %d bytes", auth.MinHS256SecretLength))
		}
	default:
		problems = append(problems, "AUTH_MODE must be jwt or none, got "+strconv.Quote(c.AuthMode))
	}
	if c.AuthLeeway < 0 || c.AuthLeeway > 5*time.Minute {
		problems = append(problems, "AUTH_LEEWAY must be between 0 and 5m")
	}
	for _, o := range c.corsOrigins() {
		if o == "*" || !strings.HasPrefix(o, "https://") && !strings.HasPrefix(o, "http://") {
			problems = append(problems, "CORS_ALLOWED_ORIGINS must list origins such as https://app.example.com, got "+strconv.Quote(o))
		}
	}
	if len(problems) > 0 {
		return errors.New("invalid configuration:\n  - " + strings.Join(problems, "\n  - "))
	}
	return nil
}

// corsOrigins splits CORS_ALLOWED_ORIGINS.
func (c Config) corsOrigins() []string {
	var out []string
	for _, o := range strings.Split(c.CORSAllowedOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// migrateURL is the owner's connection.
func (c Config) migrateURL() string {
	if c.MigrateDatabaseURL != "" {
		return c.MigrateDatabaseURL
	}
	return c.DatabaseURL
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
	check(c.SSEMaxStreamsPerCaller >= 1 && c.SSEMaxStreamsPerCaller <= 100000, "SSE_MAX_STREAMS_PER_CALLER must be between 1 and 100000")
	check(c.SSEHeartbeat >= 10*time.Millisecond, "SSE_HEARTBEAT must be at least 10ms")
	check(c.SSEPoll >= 10*time.Millisecond, "SSE_POLL must be at least 10ms")
	check(c.ConsumerInterval >= time.Millisecond && c.ConsumerInterval <= time.Second, "CONSUMER_INTERVAL must be between 1ms and 1s")
	check(c.ConsumerPartitions >= 1 && c.ConsumerPartitions <= 64, "CONSUMER_PARTITIONS must be between 1 and 64")
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

// personalDataKeys are the configured key encryption keys: the current one (none: the
// service refuses personal data, and starts only if no data key is stored) and, during
// a rotation, the previous one.
func (c Config) personalDataKeys() (*personaldata.Keys, error) {
	current, err := personaldata.LoadKEK(c.PIIKEK, c.PIIKEKFile)
	if err != nil {
		return nil, fmt.Errorf("PII_KEK: %w", err)
	}
	previous, err := personaldata.LoadKEK(c.PIIKEKPrevious, c.PIIKEKPreviousFile)
	if err != nil {
		return nil, fmt.Errorf("PII_KEK_PREVIOUS: %w", err)
	}
	if previous != nil && current == nil {
		return nil, errors.New("PII_KEK_PREVIOUS is set without PII_KEK: a rotation needs the new key as PII_KEK")
	}
	switch {
	case current == nil:
		return personaldata.NewKeys(nil), nil
	case previous == nil:
		return personaldata.NewKeys(current), nil
	}
	return personaldata.NewKeys(current, previous), nil
}
