package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/example/orders/infrastructure/personaldata"
	"github.com/example/orders/infrastructure/postgres"
)

// runKeys manages the key encryption key of customers' personal data
// (docs/architecture.md, "Personal data"):
//
//   - `keys new` prints a new random KEK, as PII_KEK takes it;
//   - `keys rotate` re-wraps every data key under PII_KEK that is wrapped by another
//     configured KEK (PII_KEK_PREVIOUS), online: run it after every replica serves with
//     PII_KEK=new and PII_KEK_PREVIOUS=old, then drop PII_KEK_PREVIOUS. It changes no
//     data key and no event.
func runKeys(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("keys needs an action: new or rotate")
	}
	switch args[0] {
	case "new":
		text, err := personaldata.NewKEKText()
		if err != nil {
			return err
		}
		_, _ = fmt.Fprintln(out, text)
		return nil
	case "rotate":
		cfg, err := parseConfig("keys rotate", args[1:], getenv)
		if err != nil {
			return err
		}
		keys, err := cfg.personalDataKeys()
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
		defer cancel()
		pool, err := postgres.Connect(ctx, cfg.DatabaseURL, 2)
		if err != nil {
			return err
		}
		defer pool.Close()
		n, err := keys.Rotate(ctx, pool, 500)
		if err != nil {
			return fmt.Errorf("keys rotate: %d data keys re-wrapped before: %w", n, err)
		}
		if err := keys.Check(ctx, pool); err != nil {
			return err
		}
		_, _ = fmt.Fprintf(out, "keys: %d data keys re-wrapped; every data key is now wrapped by PII_KEK: PII_KEK_PREVIOUS may go\n", n)
		return nil
	}
	return fmt.Errorf("unknown keys action %q: new or rotate", args[0])
}
