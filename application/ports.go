package application

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/order"
)

// OrderTransactor runs fn in one database transaction and commits if fn returns nil.
// Everything a command writes (events, read model, idempotency record) goes through the
// OrderTx it is given, so it all commits or rolls back together. Implementations wrap
// errors caused by an unreachable database with ErrUnavailable.
type OrderTransactor interface {
	WithinOrderTx(ctx context.Context, fn func(ctx context.Context, tx OrderTx) error) error
}

// OrderTx is the write side's view of one transaction.
type OrderTx interface {
	// LockOrder makes concurrent writers of the order wait until this transaction ends
	// (and waits for one that holds it). A retry takes it first, so that after losing
	// one race it cannot lose another. An order with no events has nothing to lock.
	LockOrder(ctx context.Context, id uuid.UUID) error
	// LoadOrder returns the order's current state and version (0 and the initial state
	// when it has no events).
	LoadOrder(ctx context.Context, id uuid.UUID) (OrderView, error)
	// AppendOrderEvents appends events if the stream is at expectedVersion; otherwise it
	// returns an error matching ErrVersionConflict, carrying the actual version.
	AppendOrderEvents(ctx context.Context, id uuid.UUID, expectedVersion int64, events []order.Event, md Metadata, at time.Time) ([]RecordedEvent, error)
	// ProjectOrder brings the inline read model up to date with the appended events.
	ProjectOrder(ctx context.Context, id uuid.UUID, events []RecordedEvent) error
	// ClaimIdempotencyKey records key for this transaction, or returns the record that a
	// committed transaction left for it. A concurrent claimer of the same key waits until
	// the first one's transaction ends.
	ClaimIdempotencyKey(ctx context.Context, key, fingerprint string, keepFor time.Duration) (IdempotencyRecord, error)
	// SaveIdempotentResponse stores the response for a key claimed in this transaction.
	SaveIdempotentResponse(ctx context.Context, key string, response StoredResponse) error
}

// OrderQueries is the read side: the order_overview read model, and the event log for
// history and time travel.
type OrderQueries interface {
	// OrderByID returns order.ErrNotFound for an unknown id.
	OrderByID(ctx context.Context, id uuid.UUID) (OrderView, error)
	ListOrders(ctx context.Context, q ListOrders) (OrderPage, error)
	// OrderEvents returns the order's events in version order, up to a version (0 means
	// no bound) and a time (nil means no bound); an unknown order gives no events.
	OrderEvents(ctx context.Context, id uuid.UUID, toVersion int64, until *time.Time) ([]RecordedEvent, error)
}

// OrderView is an order as of a version.
type OrderView struct {
	order.State
	Version int64
}

// RecordedEvent is an order event as stored, decoded into its current shape.
type RecordedEvent struct {
	EventID       uuid.UUID
	Type          string // stored name, e.g. "OrderPlaced"
	SchemaVersion int    // the version it was stored with; Event is always the current shape
	Version       int64
	Position      int64
	RecordedAt    time.Time
	Event         order.Event
	Data          json.RawMessage // the payload as stored
	Metadata      json.RawMessage
}

// IdempotencyRecord is what ClaimIdempotencyKey found. Claimed is true when this
// transaction now owns the key; otherwise Fingerprint and Response are the first
// request's.
type IdempotencyRecord struct {
	Claimed     bool
	Fingerprint string
	Response    StoredResponse
}

// StoredResponse is a response kept for an idempotency key, opaque to the application:
// the transport decides what goes in it and replays it as it is.
type StoredResponse struct {
	Status      int
	ContentType string
	Headers     map[string]string
	Body        []byte
}
