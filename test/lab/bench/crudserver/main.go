// Command crudserver is the benchmark's CRUD baseline: the order service a team would
// write instead of adopting event sourcing. It is built and run by the benchmark
// (test/lab/bench) only and is not part of the product. Its orders table has the list
// indexes of the service's order_overview.
//
// Same stack as the service (echo v4, pgx v5, the same PostgreSQL server and
// database), none of its machinery: no event store, no spec validation middleware, no
// access log, no idempotency. POST /orders validates the body and inserts one row
// (autocommit); POST /orders/{id}/lines validates the body and, in one transaction,
// updates the order's total and version and inserts the line. Both answer with the
// order as JSON, an ETag and (for a new order) a Location, like the service.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
)

const schema = `
CREATE TABLE IF NOT EXISTS crud_orders (
	id          uuid PRIMARY KEY,
	customer_id text NOT NULL,
	status      text NOT NULL,
	currency    text NOT NULL,
	total_cents bigint NOT NULL,
	line_count  int NOT NULL,
	unit_count  bigint NOT NULL,
	version     bigint NOT NULL,
	placed_at   timestamptz NOT NULL,
	updated_at  timestamptz NOT NULL);
-- The list indexes of the service's order_overview (migrations/00002_order_overview.sql):
-- newest first, by status, by customer; so that both servers pay for the same index
-- writes.
CREATE INDEX IF NOT EXISTS crud_orders_newest_idx ON crud_orders (placed_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS crud_orders_status_idx ON crud_orders (status, placed_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS crud_orders_customer_idx ON crud_orders (customer_id, placed_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS crud_order_lines (
	order_id         uuid NOT NULL REFERENCES crud_orders (id),
	line_no          int NOT NULL,
	sku              text NOT NULL,
	quantity         int NOT NULL,
	unit_price_cents bigint NOT NULL,
	PRIMARY KEY (order_id, line_no));`

type orderJSON struct {
	ID         uuid.UUID `json:"id"`
	CustomerID string    `json:"customer_id"`
	Status     string    `json:"status"`
	Currency   string    `json:"currency"`
	TotalCents int64     `json:"total_cents"`
	LineCount  int       `json:"line_count"`
	UnitCount  int64     `json:"unit_count"`
	Version    int64     `json:"version"`
	PlacedAt   time.Time `json:"placed_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

type problem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
}

func bad(c echo.Context, status int, title string) error {
	return c.JSON(status, problem{Status: status, Title: title})
}

func main() {
	url, addr := os.Getenv("DATABASE_URL"), os.Getenv("LISTEN_ADDR")
	maxConns, _ := strconv.ParseInt(os.Getenv("DB_MAX_CONNS"), 10, 32)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crudserver:", err)
		os.Exit(2)
	}
	if maxConns > 0 {
		pcfg.MaxConns = int32(maxConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "crudserver:", err)
		os.Exit(2)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, schema); err != nil {
		fmt.Fprintln(os.Stderr, "crudserver: schema:", err)
		os.Exit(2)
	}

	if a := os.Getenv("PPROF_ADDR"); a != "" { // the benchmark's -cpuprofile
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		go func() { _ = http.ListenAndServe(a, mux) }() //nolint:gosec // loopback, lab only
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/readyz", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	e.POST("/orders", func(c echo.Context) error {
		var body struct {
			CustomerID string `json:"customer_id"`
			Currency   string `json:"currency"`
		}
		if err := c.Bind(&body); err != nil {
			return bad(c, http.StatusBadRequest, "malformed body")
		}
		if body.CustomerID == "" || len(body.CustomerID) > 100 || !currencyRE.MatchString(body.Currency) {
			return bad(c, http.StatusUnprocessableEntity, "invalid order")
		}
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		o := orderJSON{ID: id, CustomerID: body.CustomerID, Status: "pending", Currency: body.Currency,
			Version: 1, PlacedAt: now, UpdatedAt: now}
		if _, err := pool.Exec(c.Request().Context(), `INSERT INTO crud_orders
			(id, customer_id, status, currency, total_cents, line_count, unit_count, version, placed_at, updated_at)
			VALUES ($1, $2, 'pending', $3, 0, 0, 0, 1, $4, $4)`, id, body.CustomerID, body.Currency, now); err != nil {
			return err
		}
		c.Response().Header().Set("ETag", `"1"`)
		c.Response().Header().Set("Location", "/orders/"+id.String())
		return c.JSON(http.StatusCreated, o)
	})
	e.POST("/orders/:id/lines", func(c echo.Context) error {
		id, err := uuid.Parse(c.Param("id"))
		if err != nil {
			return bad(c, http.StatusBadRequest, "bad id")
		}
		var body struct {
			SKU            string `json:"sku"`
			Quantity       int    `json:"quantity"`
			UnitPriceCents int64  `json:"unit_price_cents"`
		}
		if err := c.Bind(&body); err != nil {
			return bad(c, http.StatusBadRequest, "malformed body")
		}
		if body.SKU == "" || len(body.SKU) > 100 || body.Quantity < 1 || body.Quantity > 1000 || body.UnitPriceCents < 0 {
			return bad(c, http.StatusUnprocessableEntity, "invalid line")
		}
		ctx := c.Request().Context()
		now := time.Now().UTC().Truncate(time.Microsecond)
		var o orderJSON
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			err := tx.QueryRow(ctx, `UPDATE crud_orders
				SET total_cents = total_cents + $2::bigint * $3::bigint, line_count = line_count + 1,
				    unit_count = unit_count + $2, version = version + 1, updated_at = $4
				WHERE id = $1 AND status = 'pending'
				RETURNING id, customer_id, status, currency, total_cents, line_count, unit_count, version, placed_at, updated_at`,
				id, body.Quantity, body.UnitPriceCents, now).Scan(&o.ID, &o.CustomerID, &o.Status, &o.Currency,
				&o.TotalCents, &o.LineCount, &o.UnitCount, &o.Version, &o.PlacedAt, &o.UpdatedAt)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `INSERT INTO crud_order_lines (order_id, line_no, sku, quantity, unit_price_cents)
				VALUES ($1, $2, $3, $4, $5)`, id, o.LineCount, body.SKU, body.Quantity, body.UnitPriceCents)
			return err
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return bad(c, http.StatusNotFound, "no such pending order")
		}
		if err != nil {
			return err
		}
		c.Response().Header().Set("ETag", `"`+strconv.FormatInt(o.Version, 10)+`"`)
		return c.JSON(http.StatusOK, o)
	})

	srv := &http.Server{Addr: addr, Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "crudserver:", err)
		os.Exit(1)
	}
}
