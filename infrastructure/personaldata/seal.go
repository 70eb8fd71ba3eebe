package personaldata

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
)

// The JSON of kit.Personal: the only shape sealing and opening look for.
const (
	subjectField = "pii_subject"
	clearField   = "pii_clear"
	keyField     = "pii_key"
	sealedField  = "pii_sealed"
	erasedField  = "pii_erased"
)

// Seal replaces, in the values the pointers point to, every clear kit.Personal by its
// sealed form, under its subject's data key, created if the subject has none. A pointer
// may point to an interface (an event): its value is replaced by a sealed copy, so the
// value it held before is untouched. db must be the transaction that stores the sealed
// values in events: it holds each key's lock until it ends. A key this process sealed
// with before is used without asking; the insert of the events checks it (migration
// 00017), and a transaction that then fails IsKeyGone must be run again, after Forget of
// the subjects kept lists. It reports whether it sealed anything; values of a type
// without personal data cost a map lookup.
//
// Sealing the typed values, before they are encoded, means that the stored form is
// encoded once and never decoded back, and that the fields to seal are known from the
// type (the same rule as Open: in struct fields, not behind pointers, slices or maps).
func (k *Keys) Seal(ctx context.Context, db DB, ptrs ...any) (changed bool, kept []string, err error) {
	if k == nil {
		k = NewKeys(nil) // refuses personal data, seals nothing else
	}
	fields, restore, err := clearFields(ptrs)
	if err != nil {
		return false, nil, err
	}
	defer restore()
	if len(fields) == 0 {
		return false, nil, nil
	}
	keys := map[string]dataKey{}
	keyFor := func(subject string) (dataKey, error) {
		if dk, ok := keys[subject]; ok {
			return dk, nil
		}
		dk, ok := k.kept(subject)
		if ok && k.current != nil {
			kept = append(kept, subject)
		} else {
			if dk, err = k.forSubject(ctx, db, subject); err != nil {
				return dataKey{}, err
			}
			k.keep(subject, dk)
		}
		keys[subject] = dk
		return dk, nil
	}
	for _, f := range fields {
		subject := f.Subject()
		if _, err := f.SealWith(func(clearJSON []byte) (string, []byte, error) {
			dk, err := keyFor(subject)
			if err != nil {
				return "", nil, err
			}
			ct, err := sealValue(dk, subject, clearJSON)
			return dk.id.String(), ct, err
		}); err != nil {
			return false, nil, fmt.Errorf("seal personal data: %w", err)
		}
	}
	return true, kept, nil
}

// HasClear reports whether a JSON payload still holds personal data in the clear: a
// value Seal could not reach (inside an interface field) that must not be stored.
func HasClear(payload []byte) bool { return bytes.Contains(payload, []byte(`,"`+clearField+`":`)) }

// sealValue is the ciphertext of one clear value.
func sealValue(dk dataKey, subject string, value []byte) ([]byte, error) {
	return seal(dk.aead, value, aad(subject, dk.id))
}

// aad binds a ciphertext to its subject and key.
func aad(subject string, key uuid.UUID) []byte { return []byte(subject + "\x00" + key.String()) }

// decode reads JSON keeping numbers exact (json.Number), so re-encoding changes none.
func decode(p []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(p))
	d.UseNumber()
	var doc any
	if err := d.Decode(&doc); err != nil {
		return nil, fmt.Errorf("personal data: payload is not JSON: %w", err)
	}
	return doc, nil
}

// walk returns doc with every object that has a pii_subject replaced by f's result;
// other objects and arrays are walked into.
func walk(doc any, f func(map[string]any) any) any {
	switch v := doc.(type) {
	case map[string]any:
		if _, ok := v[subjectField]; ok {
			return f(v)
		}
		for key, child := range v {
			v[key] = walk(child, f)
		}
	case []any:
		for i, child := range v {
			v[i] = walk(child, f)
		}
	}
	return doc
}
