package postgres

import (
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// A uuid.UUID parameter is encoded, and a uuid column scanned into one, as the binary
// uuid it is, without the text round trip (and the error pgx builds on the way) that cost
// every statement a few microseconds per id.
func TestUUIDsAreEncodedAndScannedAsBinary(t *testing.T) {
	m := pgtype.NewMap()
	registerUUID(m)
	id := uuid.New()
	for _, format := range []int16{pgtype.BinaryFormatCode, pgtype.TextFormatCode} {
		buf, err := m.Encode(pgtype.UUIDOID, format, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got uuid.UUID
		if err := m.Scan(pgtype.UUIDOID, format, buf, &got); err != nil || got != id {
			t.Fatalf("format %d: scanned %v, %v; want %v", format, got, err, id)
		}
		if err := m.Scan(pgtype.UUIDOID, format, nil, &got); err != nil || got != uuid.Nil {
			t.Fatalf("format %d: NULL scanned as %v, %v; want the zero uuid (uuid.UUID.Scan would leave what was there)", format, got, err)
		}
	}
	if buf, _ := m.Encode(pgtype.UUIDOID, pgtype.BinaryFormatCode, id, nil); string(buf) != string(id[:]) {
		t.Fatalf("binary form %x, want %x", buf, id[:])
	}
	ids := []uuid.UUID{id, uuid.New()}
	buf, err := m.Encode(pgtype.UUIDArrayOID, pgtype.BinaryFormatCode, ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	var back []uuid.UUID
	if err := m.Scan(pgtype.UUIDArrayOID, pgtype.BinaryFormatCode, buf, &back); err != nil || len(back) != 2 || back[0] != ids[0] || back[1] != ids[1] {
		t.Fatalf("uuid[]: %v, %v; want %v", back, err, ids)
	}
	out := make([]byte, 0, 64)
	var got uuid.UUID
	encode := testing.AllocsPerRun(100, func() { _, _ = m.Encode(pgtype.UUIDOID, pgtype.BinaryFormatCode, id, out[:0]) })
	scan := testing.AllocsPerRun(100, func() { _ = m.Scan(pgtype.UUIDOID, pgtype.BinaryFormatCode, id[:], &got) })
	if encode > 2 || scan > 1 {
		t.Fatalf("allocations per uuid: %v to encode, %v to scan; want at most 2 and 1 (through text: 20 and 4)", encode, scan)
	}
}
