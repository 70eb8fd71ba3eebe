package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/example/orders/application/appkit"
)

// Classify marks errors that mean "the database cannot be reached right now" with
// appkit.ErrUnavailable, so that the API answers 503 and clients retry. An error
// the server reported about the statement itself is the caller's or ours, not an
// outage, except for the connection and shutdown classes. Every database call of the
// service passes its error through here, so outage, bug and unknown outcome are told
// apart in one place.
func Classify(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	// A failure to connect is an outage whatever the server said (it may be gone,
	// restarting, refusing this database or this password): check it before the codes.
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return fmt.Errorf("%w: %w", appkit.ErrUnavailable, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case len(pgErr.Code) == 5 && pgErr.Code[:2] == "08", // connection exception
			pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", // shutting down, cannot connect now
			pgErr.Code == "53300", // too many connections
			pgErr.Code == "3D000": // the database is gone (dropped under a live pool)
			return fmt.Errorf("%w: %w", appkit.ErrUnavailable, err)
		}
		return err
	}
	if pgconn.SafeToRetry(err) || errors.Is(err, context.DeadlineExceeded) || isConnectionLost(err) {
		return fmt.Errorf("%w: %w", appkit.ErrUnavailable, err)
	}
	return err
}

func isConnectionLost(err error) bool {
	var netErr interface{ Timeout() bool }
	if errors.As(err, &netErr) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"conn closed", "connection reset", "broken pipe", "unexpected EOF", "connection refused"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
