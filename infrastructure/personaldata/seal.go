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

// Queue takes a statement to run later in the same transaction, with its COMMIT.
type Queue interface {
	Defer(sql string, args ...any)
}

// Seal replaces every clear kit.Personal in the JSON payloads by its sealed form, under
// its subject's data key, created if the subject has none. db must be the transaction
// that stores the payloads: it holds each key's lock until it ends. With q, a key this
// process sealed with before is used without asking, and its check is queued on q (a
// transaction that then fails IsKeyGone must be run again); kept lists those subjects.
// It reports whether it changed anything; payloads without personal data cost one byte
// search.
func (k *Keys) Seal(ctx context.Context, db DB, q Queue, payloads [][]byte) (changed bool, kept []string, err error) {
	if k == nil {
		k = NewKeys(nil) // refuses personal data, seals nothing else
	}
	keys := map[string]dataKey{}
	for i, p := range payloads {
		if !bytes.Contains(p, []byte(`"`+clearField+`"`)) {
			continue
		}
		doc, err := decode(p)
		if err != nil {
			return false, nil, err
		}
		var werr error
		doc = walk(doc, func(m map[string]any) any {
			subject, _ := m[subjectField].(string)
			value, isClear := m[clearField]
			if werr != nil || !isClear || subject == "" {
				return m
			}
			dk, ok := keys[subject]
			if !ok {
				if dk, ok = k.kept(subject); ok && q != nil && k.current != nil {
					q.Defer(`SELECT personal_data_key_held($1, $2)`, subject, dk.id)
					kept = append(kept, subject)
				} else if dk, werr = k.forSubject(ctx, db, subject); werr != nil {
					return m
				} else {
					k.keep(subject, dk)
				}
				keys[subject] = dk
			}
			plain, err := json.Marshal(value)
			if err != nil {
				werr = err
				return m
			}
			aead, err := newGCM(dk.key)
			if err != nil {
				werr = err
				return m
			}
			ct, err := seal(aead, plain, aad(subject, dk.id))
			if err != nil {
				werr = err
				return m
			}
			return map[string]any{subjectField: subject, keyField: dk.id.String(), sealedField: ct}
		})
		if werr != nil {
			return false, nil, fmt.Errorf("seal personal data: %w", werr)
		}
		if payloads[i], err = json.Marshal(doc); err != nil {
			return false, nil, err
		}
		changed = true
	}
	return changed, kept, nil
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
