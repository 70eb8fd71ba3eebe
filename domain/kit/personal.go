package kit

import (
	"encoding/base64"
	"encoding/json"
	"errors"
)

// Personal is personal data of one data subject (a customer): a name, an address. A
// command brings it in the clear; the event log keeps it sealed, encrypted under a key
// of its subject that erasure deletes; only the edge that answers a caller opens it.
// A decider validates a command's clear value and carries it into events and state, but
// never decides on it: after erasure it is gone (docs/architecture.md, "Personal data").
//
// Its JSON shows which of the three it is, and is the only place the codec looks:
// {"pii_subject": s, "pii_clear": v}, {"pii_subject": s, "pii_key": k, "pii_sealed": c},
// or {"pii_subject": s, "pii_erased": true}. The codec refuses to store a clear one.
type Personal[T any] struct {
	subject string
	value   *T
	key     string
	sealed  []byte
	erased  bool
}

// Clear is v, personal data of subject, as a command brings it.
func Clear[T any](subject string, v T) Personal[T] { return Personal[T]{subject: subject, value: &v} }

// Subject is whose data this is; "" when there is none.
func (p Personal[T]) Subject() string { return p.subject }

// IsSet reports whether there is data (clear, sealed or erased) at all.
func (p Personal[T]) IsSet() bool { return p.subject != "" }

// Value is the clear value, and whether there is one (sealed and erased data have none).
func (p Personal[T]) Value() (T, bool) {
	if p.value == nil {
		var zero T
		return zero, false
	}
	return *p.value, true
}

// IsErased reports whether the data was erased: its key is gone.
func (p Personal[T]) IsErased() bool { return p.erased }

// IsSealed reports whether the data is as the log keeps it, not yet opened.
func (p Personal[T]) IsSealed() bool { return p.sealed != nil }

type personalJSON[T any] struct {
	Subject string `json:"pii_subject"`
	Clear   *T     `json:"pii_clear,omitempty"`
	Key     string `json:"pii_key,omitempty"`
	Sealed  []byte `json:"pii_sealed,omitempty"`
	Erased  bool   `json:"pii_erased,omitempty"`
}

// MarshalJSON writes the form above; data that is not set is null. Sealed and erased
// data, which every stored event and read-model row holds, is written without
// reflection, byte for byte as encoding/json writes personalJSON (TestPersonalJSONIsWhatEncodingJSONWrites).
func (p Personal[T]) MarshalJSON() ([]byte, error) {
	if !p.IsSet() {
		return []byte("null"), nil
	}
	if p.value != nil {
		return json.Marshal(personalJSON[T]{Subject: p.subject, Clear: p.value, Key: p.key, Sealed: p.sealed, Erased: p.erased})
	}
	b := make([]byte, 0, 64+len(p.subject)+len(p.key)+base64.StdEncoding.EncodedLen(len(p.sealed)))
	b = appendJSONString(append(b, `{"pii_subject":`...), p.subject)
	if p.key != "" {
		b = appendJSONString(append(b, `,"pii_key":`...), p.key)
	}
	if len(p.sealed) > 0 {
		b = append(base64.StdEncoding.AppendEncode(append(b, `,"pii_sealed":"`...), p.sealed), '"')
	}
	if p.erased {
		b = append(b, `,"pii_erased":true`...)
	}
	return append(b, '}'), nil
}

// appendJSONString appends s as encoding/json writes a string: printable ASCII other
// than the characters it escapes as is, anything else through encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			quoted, _ := json.Marshal(s) // a string always encodes
			return append(b, quoted...)
		}
	}
	return append(append(append(b, '"'), s...), '"')
}

// UnmarshalJSON reads the form above.
func (p *Personal[T]) UnmarshalJSON(b []byte) error {
	var j *personalJSON[T]
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j == nil {
		*p = Personal[T]{}
		return nil
	}
	n := 0
	for _, set := range []bool{j.Clear != nil, j.Sealed != nil, j.Erased} {
		if set {
			n++
		}
	}
	if j.Subject == "" || n != 1 || (j.Sealed != nil) != (j.Key != "") {
		return errors.New("personal data must have a subject and be exactly one of clear, sealed (with its key) or erased")
	}
	*p = Personal[T]{subject: j.Subject, value: j.Clear, key: j.Key, sealed: j.Sealed, erased: j.Erased}
	return nil
}

// The methods below are for the edge that seals and opens personal data (the store and
// the responses), never for a decider.

// SealedForm is the stored form: the key it is sealed under and the ciphertext, and
// false when it is not sealed.
func (p Personal[T]) SealedForm() (key string, ciphertext []byte, ok bool) {
	return p.key, p.sealed, p.sealed != nil
}

// SealWith replaces a clear value by its sealed form, which seal makes from the value's
// JSON; it reports whether there was a clear value (sealed and erased data are left).
func (p *Personal[T]) SealWith(seal func(clearJSON []byte) (key string, ciphertext []byte, err error)) (bool, error) {
	if p.value == nil {
		return false, nil
	}
	clearJSON, err := json.Marshal(*p.value)
	if err != nil {
		return false, err
	}
	key, ciphertext, err := seal(clearJSON)
	if err != nil {
		return false, err
	}
	*p = Personal[T]{subject: p.subject, key: key, sealed: ciphertext}
	return true, nil
}

// OpenWith sets the clear value from its JSON: the sealed data, opened.
func (p *Personal[T]) OpenWith(clearJSON []byte) error {
	var v T
	if err := json.Unmarshal(clearJSON, &v); err != nil {
		return err
	}
	*p = Personal[T]{subject: p.subject, value: &v}
	return nil
}

// MarkErased records that the data's key is gone.
func (p *Personal[T]) MarkErased() { *p = Personal[T]{subject: p.subject, erased: true} }
