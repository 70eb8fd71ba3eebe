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
//
// The payloads are encoding/json's output, in which `{"pii_subject":` can only start a
// kit.Personal (quotes inside strings are escaped): each is cut out and replaced, and
// the rest of the payload is copied as it is, not decoded.
func (k *Keys) Seal(ctx context.Context, db DB, q Queue, payloads [][]byte) (changed bool, kept []string, err error) {
	if k == nil {
		k = NewKeys(nil) // refuses personal data, seals nothing else
	}
	keys := map[string]dataKey{}
	keyFor := func(subject string) (dataKey, error) {
		if dk, ok := keys[subject]; ok {
			return dk, nil
		}
		dk, ok := k.kept(subject)
		if ok && q != nil && k.current != nil {
			q.Defer(`SELECT personal_data_key_held($1, $2)`, subject, dk.id)
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
	start := []byte(`{"` + subjectField + `":`)
	for i, p := range payloads {
		if !bytes.Contains(p, []byte(`"`+clearField+`"`)) {
			continue
		}
		var out []byte
		for rest := p; ; {
			at := bytes.Index(rest, start)
			if at < 0 {
				payloads[i] = append(out, rest...)
				break
			}
			dec := json.NewDecoder(bytes.NewReader(rest[at:]))
			var v struct {
				Subject string          `json:"pii_subject"`
				Clear   json.RawMessage `json:"pii_clear"`
			}
			if err := dec.Decode(&v); err != nil {
				return false, nil, fmt.Errorf("seal personal data: %w", err)
			}
			end := at + int(dec.InputOffset())
			if v.Clear == nil || v.Subject == "" {
				out, rest = append(out, rest[:end]...), rest[end:] // sealed or erased already
				continue
			}
			dk, err := keyFor(v.Subject)
			if err != nil {
				return false, nil, fmt.Errorf("seal personal data: %w", err)
			}
			sealed, err := sealValue(dk, v.Subject, v.Clear)
			if err != nil {
				return false, nil, fmt.Errorf("seal personal data: %w", err)
			}
			out, rest = append(append(out, rest[:at]...), sealed...), rest[end:]
		}
		changed = true
	}
	return changed, kept, nil
}

// sealValue is the sealed form of one clear value.
func sealValue(dk dataKey, subject string, value json.RawMessage) ([]byte, error) {
	aead, err := newGCM(dk.key)
	if err != nil {
		return nil, err
	}
	ct, err := seal(aead, value, aad(subject, dk.id))
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		Subject string `json:"pii_subject"`
		Key     string `json:"pii_key"`
		Sealed  []byte `json:"pii_sealed"`
	}{subject, dk.id.String(), ct})
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
