package subscription_test

import (
	"log/slog"
	"regexp"
	"testing"
	"time"

	"github.com/example/orders/infrastructure/postgres/subscription"
)

// Options' zero fields take the defaults their comments give, a negative MinInterval
// means none (it is not replaced), and every field set is kept as it is.
func TestOptionsTakeTheirDefaultsAndKeepWhatIsSet(t *testing.T) {
	d := subscription.WithDefaults(subscription.Options{})
	if d.BatchSize != 500 || d.PollInterval != time.Second || d.MinInterval != 10*time.Millisecond || d.LockRetry != time.Second ||
		d.LeaseTTL != 5*time.Second || d.Partitions != 1 || d.MaxAttempts != 5 || d.RetryBase != 100*time.Millisecond ||
		d.RetryMax != 5*time.Second || d.Log == nil {
		t.Fatalf("defaults: %+v", d)
	}
	if !regexp.MustCompile(`^.*-[0-9]+-[0-9a-f]{4}$`).MatchString(d.Owner) {
		t.Fatalf("default owner %q, want host-pid-random", d.Owner)
	}
	got := subscription.WithDefaults(subscription.Options{BatchSize: -1, PollInterval: -1, LockRetry: -1, LeaseTTL: -1, Partitions: -1,
		MaxAttempts: -1, RetryBase: -1, RetryMax: -1})
	if got.BatchSize != 500 || got.PollInterval != time.Second || got.LockRetry != time.Second || got.LeaseTTL != 5*time.Second ||
		got.Partitions != 1 || got.MaxAttempts != 5 || got.RetryBase != 100*time.Millisecond || got.RetryMax != 5*time.Second {
		t.Fatalf("negative values take the defaults too: %+v", got)
	}
	log := slog.Default()
	set := subscription.Options{BatchSize: 1, PollInterval: 2, MinInterval: -1, LockRetry: 3, LeaseTTL: 4, Partitions: 6,
		MaxAttempts: 7, RetryBase: 8, RetryMax: 9, Owner: "me", Log: log}
	got = subscription.WithDefaults(set)
	if got.BatchSize != 1 || got.PollInterval != 2 || got.MinInterval != -1 || got.LockRetry != 3 || got.LeaseTTL != 4 ||
		got.Partitions != 6 || got.MaxAttempts != 7 || got.RetryBase != 8 || got.RetryMax != 9 || got.Owner != "me" || got.Log != log {
		t.Fatalf("what is set is kept: %+v", got)
	}
	if got := subscription.WithDefaults(subscription.Options{MinInterval: 3}); got.MinInterval != 3 {
		t.Fatalf("MinInterval set: %v", got.MinInterval)
	}
}
