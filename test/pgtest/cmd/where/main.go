// Command where prints, in one line, where `make test`'s database tests get
// PostgreSQL: pgtest.Where, the same choice the test processes make. The image, if
// one is to be used and is missing, is pulled now.
//
//	go run ./test/pgtest/cmd/where [prefix]
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/example/orders/test/pgtest"
)

func main() {
	prefix := "test"
	if len(os.Args) > 1 {
		prefix = os.Args[1]
	}
	tclog.SetDefault(tclog.NewNoopLogger())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	line, err := pgtest.Where(ctx)
	if err != nil {
		// The tests will say the same, each; say it once, first.
		fmt.Fprintf(os.Stderr, "%s: no PostgreSQL for the database tests: %v\n", prefix, err)
		os.Exit(1)
	}
	fmt.Printf("%s: %s\n", prefix, line)
}
