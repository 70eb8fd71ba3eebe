package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/example/orders/infrastructure/servicename"
)

// profileShares is where a CPU profile's samples went, by category, for the table
// "Where the service's CPU goes".
type profileShares struct {
	Name     string             `json:"name"`
	File     string             `json:"file"`
	CPUPerOp float64            `json:"cpu_ms_per_op"` // the service's, measured in the same run
	Shares   map[string]float64 `json:"shares"`        // category -> fraction of the samples
}

// The table's rows. A sample belongs to the consumers if any frame is theirs; else to
// system calls by its leaf, or to the collector by its own frames; else to the library
// of the frame nearest the leaf that names one (libraries, in order of the table); else
// to the rest of the runtime.
const (
	consumersShare   = "asynchronous consumers (when running)"
	syscallsShare    = "system calls (sockets, futex)"
	gcShare          = "garbage collection"
	runtimeRestShare = "Go scheduler and the rest of the runtime"
)

var (
	consumerFrames = []string{"subscription.(*Runtime)", "subscription.listen", "subscription.(*Notifier)"}
	syscallLeaf    = regexp.MustCompile(`^(internal/runtime/syscall|syscall\.|runtime\.(futex|epollwait|usleep|nanotime))`)
	gcFrames       = []string{"runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.bgscavenge", "runtime.gcAssistAlloc"}
	libraries      = []struct {
		name string
		keys []string
	}{
		{"request validation (kin-openapi)", []string{"getkin/kin-openapi", "gorilla/mux", "httpapi.strictJSONBody", "httpapi.hasLoneSurrogate"}},
		{"authentication (JWT)", []string{"golang-jwt", "infrastructure/auth."}},
		{"pgx: encoding parameters, protocol", []string{"jackc/pgx"}},
		{"JSON (request decode, response and event encode)", []string{"encoding/json"}},
		{"logging", []string{"log/slog", "infrastructure/logging"}},
		{"metrics and tracing", []string{"prometheus", "go.opentelemetry.io", "infrastructure/metrics", "infrastructure/tracing"}},
		{"net/http + echo", []string{"net/http.", "labstack/echo", "bufio.", "net.(*conn)", "net/textproto"}},
		{"service code (handlers, runner, decider, codec, ids)", []string{servicename.ModulePath + "/", "google/uuid", "main.main."}}, // main.main.: the CRUD server's handlers,
	}
)

// shareNames are the table's rows in order.
func shareNames() []string {
	names := []string{consumersShare, syscallsShare, gcShare}
	for _, l := range libraries {
		names = append(names, l.name)
	}
	return append(names, runtimeRestShare)
}

// classify names the row of a sample's frames, leaf first.
func classify(frames []string) string {
	switch {
	case anyContains(frames, consumerFrames):
		return consumersShare
	case len(frames) > 0 && syscallLeaf.MatchString(frames[0]):
		return syscallsShare
	case anyContains(frames, gcFrames):
		return gcShare
	}
	for _, f := range frames {
		for _, l := range libraries {
			if containsAny(f, l.keys) {
				return l.name
			}
		}
	}
	return runtimeRestShare
}

func anyContains(frames, keys []string) bool {
	for _, f := range frames {
		if containsAny(f, keys) {
			return true
		}
	}
	return false
}

func containsAny(s string, keys []string) bool {
	for _, k := range keys {
		if strings.Contains(s, k) {
			return true
		}
	}
	return false
}

var sampleValue = regexp.MustCompile(`^\s*([0-9.]+)(s|ms|us|µs)\s+(.*)$`)

// readProfileShares runs `go tool pprof -traces` on file and sorts its samples.
func readProfileShares(ctx context.Context, file string) (map[string]float64, error) {
	byCategory := map[string]float64{}
	total, err := eachSample(ctx, file, func(value float64, frames []string) { byCategory[classify(frames)] += value })
	if err != nil {
		return nil, err
	}
	for k := range byCategory {
		byCategory[k] /= total
	}
	return byCategory, nil
}

// readFrameShare is the fraction of file's samples with a frame that contains frame:
// the share of the CPU spent in (and below) that function.
func readFrameShare(ctx context.Context, file, frame string) (float64, error) {
	in := 0.0
	total, err := eachSample(ctx, file, func(value float64, frames []string) {
		if anyContains(frames, []string{frame}) {
			in += value
		}
	})
	if err != nil {
		return 0, err
	}
	return in / total, nil
}

// eachSample calls f with each sample of `go tool pprof -traces file` (its value in ms
// and its frames, leaf first) and returns the samples' total.
func eachSample(ctx context.Context, file string, f func(value float64, frames []string)) (float64, error) {
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-traces", file).Output()
	if err != nil {
		return 0, fmt.Errorf("go tool pprof -traces %s: %w", file, err)
	}
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
		f(value, frames)
	}
	if total == 0 {
		return 0, fmt.Errorf("%s: no samples", file)
	}
	return total, nil
}
