package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// profileShares is where a CPU profile's samples went, by category, for the table
// "Where the service's CPU goes".
type profileShares struct {
	Name     string             `json:"name"`
	File     string             `json:"file"`
	CPUPerOp float64            `json:"cpu_ms_per_op"` // the service's, measured in the same run
	Shares   map[string]float64 `json:"shares"`        // category -> fraction of the samples
}

// shareCategories are the table's rows, in order. A sample belongs to the first rule
// that matches: the consumers by any frame of their goroutines; system calls and the
// collector by the leaf or the collector's own frames; otherwise the frame nearest the
// leaf that names one of the libraries below, else the service's own code, else the
// rest of the runtime.
var shareCategories = []struct {
	name  string
	match func(frames []string) bool
}{
	{"asynchronous consumers (when running)", anyFrame("subscription.(*Runtime)", "subscription.listen", "subscription.(*Notifier)")},
	{"system calls (sockets, futex)", leafMatches(regexp.MustCompile(`^(internal/runtime/syscall|syscall\.|runtime\.(futex|epollwait|usleep|nanotime))`))},
	{"garbage collection", anyFrame("runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.bgscavenge", "runtime.gcAssistAlloc")},
	{"request validation (kin-openapi)", nearest("getkin/kin-openapi", "gorilla/mux", "httpapi.strictJSONBody", "httpapi.hasLoneSurrogate")},
	{"authentication (JWT)", nearest("golang-jwt", "infrastructure/auth.")},
	{"pgx: encoding parameters, protocol", nearest("jackc/pgx")},
	{"JSON (request decode, response and event encode)", nearest("encoding/json")},
	{"logging", nearest("log/slog", "infrastructure/logging")},
	{"metrics and tracing", nearest("prometheus", "go.opentelemetry.io", "infrastructure/metrics", "infrastructure/tracing")},
	{"net/http + echo", nearest("net/http.", "labstack/echo", "bufio.", "net.(*conn)", "net/textproto")},
	{"service code (handlers, runner, decider, codec, ids)", nearest("example/orders/", "google/uuid")},
	{"Go scheduler and the rest of the runtime", func([]string) bool { return true }},
}

func anyFrame(keys ...string) func([]string) bool {
	return func(frames []string) bool {
		for _, f := range frames {
			for _, k := range keys {
				if strings.Contains(f, k) {
					return true
				}
			}
		}
		return false
	}
}

func leafMatches(re *regexp.Regexp) func([]string) bool {
	return func(frames []string) bool { return len(frames) > 0 && re.MatchString(frames[0]) }
}

// nearest matches when the frame nearest the leaf that names any library of the table
// (libraryKeys) names one of keys.
func nearest(keys ...string) func([]string) bool {
	return func(frames []string) bool {
		for _, f := range frames {
			if containsAny(f, libraryKeys) {
				return containsAny(f, keys)
			}
		}
		return false
	}
}

func containsAny(s string, keys []string) bool {
	for _, k := range keys {
		if strings.Contains(s, k) {
			return true
		}
	}
	return false
}

// libraryKeys are all the keys of the nearest rules above.
var libraryKeys = []string{"getkin/kin-openapi", "gorilla/mux", "httpapi.strictJSONBody", "httpapi.hasLoneSurrogate",
	"golang-jwt", "infrastructure/auth.", "jackc/pgx", "encoding/json", "log/slog", "infrastructure/logging",
	"prometheus", "go.opentelemetry.io", "infrastructure/metrics", "infrastructure/tracing",
	"net/http.", "labstack/echo", "bufio.", "net.(*conn)", "net/textproto", "example/orders/", "google/uuid"}

var sampleValue = regexp.MustCompile(`^\s*([0-9.]+)(s|ms|us|µs)\s+(.*)$`)

// readProfileShares runs `go tool pprof -traces` on file and sorts its samples.
func readProfileShares(ctx context.Context, file string) (map[string]float64, error) {
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-traces", file).Output()
	if err != nil {
		return nil, fmt.Errorf("go tool pprof -traces %s: %w", file, err)
	}
	byCategory := map[string]float64{}
	total := 0.0
	for _, block := range strings.Split(string(out), "-----------+-------------------------------------------------------") {
		var value float64
		var frames []string
		for _, line := range strings.Split(block, "\n") {
			if m := sampleValue.FindStringSubmatch(line); m != nil && value == 0 {
				v, _ := strconv.ParseFloat(m[1], 64)
				value = v * map[string]float64{"s": 1e3, "ms": 1, "us": 1e-3, "µs": 1e-3}[m[2]]
				frames = append(frames, strings.TrimSpace(m[3]))
			} else if value > 0 && strings.TrimSpace(line) != "" {
				frames = append(frames, strings.TrimSpace(line))
			}
		}
		if value == 0 {
			continue
		}
		total += value
		for _, c := range shareCategories {
			if c.match(frames) {
				byCategory[c.name] += value
				break
			}
		}
	}
	if total == 0 {
		return nil, fmt.Errorf("%s: no samples", file)
	}
	for k := range byCategory {
		byCategory[k] /= total
	}
	return byCategory, nil
}
