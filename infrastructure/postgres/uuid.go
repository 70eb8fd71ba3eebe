package postgres

import (
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// registerUUID teaches a connection's type map to encode and scan uuid.UUID as the
// binary uuid it is. pgx does not know the type: it turns each parameter into text
// through its driver.Valuer, fails to encode that as binary, builds an error with
// fmt.Errorf, parses the text back and encodes again; and it scans through sql.Scanner
// by way of text. That cost a few microseconds per id on every statement.
func registerUUID(m *pgtype.Map) {
	t := &pgtype.Type{Name: "uuid", OID: pgtype.UUIDOID, Codec: uuidCodec{}}
	m.RegisterType(t)
	m.RegisterType(&pgtype.Type{Name: "_uuid", OID: pgtype.UUIDArrayOID, Codec: &pgtype.ArrayCodec{ElementType: t}})
}

// uuidCodec is pgx's uuid codec that also takes uuid.UUID values and *uuid.UUID targets.
type uuidCodec struct{ pgtype.UUIDCodec }

func (c uuidCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if _, ok := value.(uuid.UUID); ok {
		return encodeUUID{c.UUIDCodec.PlanEncode(m, oid, format, pgUUID{})}
	}
	return c.UUIDCodec.PlanEncode(m, oid, format, value)
}

func (c uuidCodec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	if _, ok := target.(*uuid.UUID); ok {
		return scanUUID{c.UUIDCodec.PlanScan(m, oid, format, &pgUUID{})}
	}
	return c.UUIDCodec.PlanScan(m, oid, format, target)
}

// pgUUID is uuid.UUID with the interfaces pgx's uuid codec asks for.
type pgUUID uuid.UUID

func (u pgUUID) UUIDValue() (pgtype.UUID, error) { return pgtype.UUID{Bytes: u, Valid: true}, nil }

// ScanUUID reads NULL as the zero uuid (uuid.UUID.Scan leaves what was there).
func (u *pgUUID) ScanUUID(v pgtype.UUID) error {
	*u = v.Bytes
	return nil
}

type encodeUUID struct{ next pgtype.EncodePlan }

func (p encodeUUID) Encode(value any, buf []byte) ([]byte, error) {
	return p.next.Encode(pgUUID(value.(uuid.UUID)), buf)
}

type scanUUID struct{ next pgtype.ScanPlan }

func (p scanUUID) Scan(src []byte, target any) error {
	return p.next.Scan(src, (*pgUUID)(target.(*uuid.UUID)))
}
