package orderstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/postgres/aggregatestore"
)

// StateSchemaVersion numbers the shape and meaning of order.State in snapshots, and the
// layout below. Bump it whenever order.State, the order's Evolve or the layout changes:
// older snapshots are then ignored.
const StateSchemaVersion = 3

// stateSnapshots persists order states in a compact binary layout instead of JSON: the
// state of an order is mostly its lines, and a 10,000-line order is ~580 KiB of JSON
// that takes encoding/json 10–20 ms to read back, against well under a millisecond for
// this (docs/benchmarks.md). The lines are stored column by column so that decoding
// makes one string for all SKUs and slices it.
//
// Layout (integers are varints, strings a length then bytes):
//
//	id [16] | customer_id | currency | status | total_cents | unit_count |
//	placed_at | updated_at (time.MarshalBinary, length-prefixed) |
//	n | n SKU lengths | SKU bytes | n quantities | n unit prices |
//	contact (its JSON: sealed, or null; never clear)
func stateSnapshots() *aggregatestore.Snapshots[order.State] {
	return &aggregatestore.Snapshots[order.State]{SchemaVersion: StateSchemaVersion, Encode: encodeState, Decode: decodeState}
}

func encodeState(s order.State) ([]byte, error) {
	skuBytes := 0
	for _, l := range s.Lines {
		skuBytes += len(l.SKU)
	}
	b := make([]byte, 0, 96+len(s.CustomerID)+skuBytes+len(s.Lines)*(2+2+4))
	b = append(b, s.ID[:]...)
	b = appendString(b, s.CustomerID)
	b = appendString(b, s.Currency)
	b = appendString(b, string(s.Status))
	b = binary.AppendVarint(b, s.TotalCents)
	b = binary.AppendVarint(b, int64(s.UnitCount))
	for _, t := range []time.Time{s.PlacedAt, s.UpdatedAt} {
		tb, err := t.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("encode order state: %w", err)
		}
		b = appendString(b, string(tb))
	}
	b = binary.AppendUvarint(b, uint64(len(s.Lines)))
	for _, l := range s.Lines {
		b = binary.AppendUvarint(b, uint64(len(l.SKU)))
	}
	for _, l := range s.Lines {
		b = append(b, l.SKU...)
	}
	for _, l := range s.Lines {
		b = binary.AppendVarint(b, int64(l.Quantity))
	}
	for _, l := range s.Lines {
		b = binary.AppendVarint(b, l.UnitPriceCents)
	}
	if _, inClear := s.Contact.Value(); inClear {
		return nil, errors.New("encode order state: a snapshot keeps personal data sealed, never clear")
	}
	contact, err := json.Marshal(s.Contact)
	if err != nil {
		return nil, fmt.Errorf("encode order state: %w", err)
	}
	return appendString(b, string(contact)), nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

var errCorrupt = errors.New("decode order state: corrupt snapshot")

// stateReader reads the layout; the first error sticks and later reads return zeros.
type stateReader struct {
	b   []byte
	err error
}

func (r *stateReader) fail() { r.err, r.b = errCorrupt, nil }

func (r *stateReader) bytes(n uint64) []byte {
	if r.err != nil || n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *stateReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if r.err != nil || n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *stateReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if r.err != nil || n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *stateReader) string() string { return string(r.bytes(r.uvarint())) }

func (r *stateReader) time() time.Time {
	var t time.Time
	if b := r.bytes(r.uvarint()); r.err == nil && t.UnmarshalBinary(b) != nil {
		r.fail()
	}
	return t
}

func decodeState(b []byte) (order.State, error) {
	r := &stateReader{b: b}
	var s order.State
	copy(s.ID[:], r.bytes(uint64(len(uuid.UUID{}))))
	s.CustomerID = r.string()
	s.Currency = r.string()
	s.Status = order.Status(r.string())
	s.TotalCents = r.varint()
	s.UnitCount = int(r.varint())
	s.PlacedAt = r.time()
	s.UpdatedAt = r.time()
	n := r.uvarint()
	// Every line takes at least three bytes (a length and two numbers), so a count
	// that the rest cannot hold is corrupt, not a reason to allocate.
	if r.err != nil || n > uint64(len(r.b))/3 {
		return order.State{}, errCorrupt
	}
	lens := make([]uint64, n)
	total := uint64(0)
	for i := range lens {
		lens[i] = r.uvarint()
		if lens[i] > uint64(len(r.b)) {
			return order.State{}, errCorrupt
		}
		total += lens[i]
	}
	skus := r.string0(total)
	if r.err != nil {
		return order.State{}, errCorrupt
	}
	if n > 0 {
		s.Lines = make([]order.Line, n)
	}
	for i := range s.Lines {
		s.Lines[i].SKU, skus = skus[:lens[i]], skus[lens[i]:]
	}
	for i := range s.Lines {
		s.Lines[i].Quantity = int(r.varint())
	}
	for i := range s.Lines {
		s.Lines[i].UnitPriceCents = r.varint()
	}
	if contact := r.bytes(r.uvarint()); r.err != nil || json.Unmarshal(contact, &s.Contact) != nil {
		return order.State{}, errCorrupt
	}
	if r.err != nil || len(r.b) != 0 {
		return order.State{}, errCorrupt
	}
	return s, nil
}

// string0 reads n bytes as one string, or "" and an error if there are fewer.
func (r *stateReader) string0(n uint64) string {
	b := r.bytes(n)
	if r.err != nil {
		return ""
	}
	return string(b)
}
