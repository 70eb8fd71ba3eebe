package personaldata

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	"github.com/google/uuid"
)

// Erased is how a response shows personal data whose key is gone.
var Erased = map[string]any{"erased": true}

// OpenPayloads returns the JSON payloads as a response shows them: each kit.Personal
// replaced by its clear value, or by {"erased": true} when its key is gone. All keys
// are read in one query.
func (k *Keys) OpenPayloads(ctx context.Context, db DB, payloads [][]byte) ([][]byte, error) {
	return k.OpenEvents(ctx, db, nil, payloads)
}

// OpenEvents is Open of the values and OpenPayloads of the payloads (a history's typed
// events and their JSON) with one query for the keys of both.
func (k *Keys) OpenEvents(ctx context.Context, db DB, values []any, payloads [][]byte) ([][]byte, error) {
	if k == nil {
		k = NewKeys(nil) // opens nothing: sealed data is an error (ErrNoKEK)
	}
	fields, ids, restore, err := sealedFields(values)
	defer restore()
	if err != nil {
		return nil, err
	}
	docs, docIDs, err := sealedDocs(payloads)
	if err != nil {
		return nil, err
	}
	keys, err := k.keysFor(ctx, db, append(ids, docIDs...))
	if err != nil {
		return nil, err
	}
	if err := openFields(fields, keys); err != nil {
		return nil, err
	}
	return openDocs(docs, payloads, keys)
}

// sealedDocs decodes the payloads that hold personal data (nil for the others) and
// lists the ids of the keys they were sealed under.
func sealedDocs(payloads [][]byte) ([]any, []uuid.UUID, error) {
	docs := make([]any, len(payloads))
	var ids []uuid.UUID
	for i, p := range payloads {
		if !bytes.Contains(p, []byte(`"`+subjectField+`"`)) {
			continue
		}
		doc, err := decode(p)
		if err != nil {
			return nil, nil, err
		}
		docs[i] = walk(doc, func(m map[string]any) any {
			if id, err := uuid.Parse(fmt.Sprint(m[keyField])); err == nil {
				ids = append(ids, id)
			}
			return m
		})
	}
	return docs, ids, nil
}

// openDocs is the payloads with each kit.Personal in docs opened with keys, or erased.
func openDocs(docs []any, payloads [][]byte, keys map[uuid.UUID][]byte) ([][]byte, error) {
	out := make([][]byte, len(payloads))
	for i, doc := range docs {
		if doc == nil {
			out[i] = payloads[i]
			continue
		}
		var werr error
		doc = walk(doc, func(m map[string]any) any {
			if value, ok := m[clearField]; ok {
				return value
			}
			if m[erasedField] == true {
				return Erased
			}
			subject, _ := m[subjectField].(string)
			id, err := uuid.Parse(fmt.Sprint(m[keyField]))
			text, _ := m[sealedField].(string)
			ct, cerr := base64.StdEncoding.DecodeString(text)
			if err != nil || cerr != nil {
				// Not a form the store writes: tampered with, not erased.
				werr = fmt.Errorf("personal data of %q: malformed sealed value", subject)
				return Erased
			}
			key, found := keys[id]
			if !found {
				return Erased
			}
			plain, err := openWith(key, ct, subject, id)
			if err != nil {
				werr = err
				return Erased
			}
			v, err := decode(plain)
			if err != nil {
				werr = err
			}
			return v
		})
		if werr != nil {
			return nil, werr
		}
		var err error
		if out[i], err = json.Marshal(doc); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (k *Keys) keysFor(ctx context.Context, db DB, ids []uuid.UUID) (map[uuid.UUID][]byte, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return k.byIDs(ctx, db, ids)
}

// openWith opens one sealed value. A key that exists but does not open the value is an
// error, not an erasure: it means the data or the key was tampered with.
func openWith(key, ct []byte, subject string, id uuid.UUID) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	plain, err := open(aead, ct, aad(subject, id))
	if err != nil {
		return nil, fmt.Errorf("personal data of %q does not open with its key %s: %w", subject, id, err)
	}
	return plain, nil
}

// personalField is what *kit.Personal[T] offers the edge.
type personalField interface {
	Subject() string
	IsSet() bool
	IsSealed() bool
	IsErased() bool
	SealedForm() (key string, ciphertext []byte, ok bool)
	SealWith(seal func(clearJSON []byte) (key string, ciphertext []byte, err error)) (bool, error)
	OpenWith(clearJSON []byte) error
	MarkErased()
}

var personalType = reflect.TypeFor[personalField]()

// Open opens, in the values the pointers point to, every sealed kit.Personal, or marks
// it erased when its key is gone; all keys are read in one query, and none when nothing
// is sealed. A pointer may point to an interface (an event): its value is replaced by an
// opened copy. Personal data must sit in struct fields (nested structs too), not behind
// pointers, slices or maps, so that opening a copy of a state never writes into the
// state it was copied from (a cached one): Open refuses other types.
func (k *Keys) Open(ctx context.Context, db DB, ptrs ...any) error {
	_, err := k.OpenEvents(ctx, db, ptrs, nil)
	return err
}

// sealedFields lists the sealed kit.Personal fields of the values the pointers point to,
// and the ids of their keys; restore puts the opened copies back into interfaces.
func sealedFields(ptrs []any) (fields []personalField, ids []uuid.UUID, restore func(), err error) {
	fields, restore, err = personalFields(ptrs, personalField.IsSealed)
	for _, f := range fields {
		key, _, _ := f.SealedForm()
		if id, err := uuid.Parse(key); err == nil {
			ids = append(ids, id)
		}
	}
	return fields, ids, restore, err
}

// clearFields lists the kit.Personal fields in the clear of the values the pointers
// point to; restore puts the sealed copies back into interfaces.
func clearFields(ptrs []any) ([]personalField, func(), error) {
	return personalFields(ptrs, func(f personalField) bool { return f.IsSet() && !f.IsSealed() && !f.IsErased() })
}

// personalFields lists the kit.Personal fields for which want holds in the values the
// pointers point to. A value held by an interface is copied, only when it has such a
// field; restore puts the copies, changed meanwhile, back into their interfaces.
func personalFields(ptrs []any, want func(personalField) bool) (fields []personalField, restore func(), err error) {
	var back []func()
	restore = func() {
		for _, f := range back {
			f()
		}
	}
	for _, ptr := range ptrs {
		rv := reflect.ValueOf(ptr)
		if rv.Kind() != reflect.Pointer || rv.IsNil() {
			return nil, restore, fmt.Errorf("personal data: needs pointers, not %T", ptr)
		}
		target := rv.Elem()
		if target.Kind() == reflect.Interface {
			if target.IsNil() {
				continue
			}
			target = target.Elem() // unaddressable: read here, copied below if need be
		}
		paths, err := fieldsOf(target.Type())
		if err != nil {
			return nil, restore, err
		}
		var found []int
		for i, path := range paths {
			if want(fieldAt(target, path)) {
				found = append(found, i)
			}
		}
		if len(found) == 0 {
			continue
		}
		if !target.CanAddr() {
			// An interface holds its value unaddressably: work on a copy, then put it back.
			iface, cp := rv.Elem(), reflect.New(target.Type()).Elem()
			cp.Set(target)
			back = append(back, func() { iface.Set(cp) })
			target = cp
		}
		for _, i := range found {
			fields = append(fields, target.FieldByIndex(paths[i]).Addr().Interface().(personalField))
		}
	}
	return fields, restore, nil
}

// fieldAt is the kit.Personal at path in v, addressable or not (a copy to look at).
func fieldAt(v reflect.Value, path []int) personalField {
	f := v.FieldByIndex(path)
	if f.CanAddr() {
		return f.Addr().Interface().(personalField)
	}
	cp := reflect.New(f.Type())
	cp.Elem().Set(f)
	return cp.Interface().(personalField)
}

// openFields opens each field with keys, or marks it erased when its key is gone.
func openFields(fields []personalField, keys map[uuid.UUID][]byte) error {
	for _, f := range fields {
		key, ct, _ := f.SealedForm()
		id, err := uuid.Parse(key)
		dk, found := keys[id]
		if err != nil || !found {
			f.MarkErased()
			continue
		}
		plain, err := openWith(dk, ct, f.Subject(), id)
		if err != nil {
			return err
		}
		if err := f.OpenWith(plain); err != nil {
			return fmt.Errorf("personal data: %w", err)
		}
	}
	return nil
}

var fieldCache sync.Map // reflect.Type -> fieldsResult

type fieldsResult struct {
	paths [][]int
	err   error
}

// fieldsOf lists the index paths of t's kit.Personal fields, once per type.
func fieldsOf(t reflect.Type) ([][]int, error) {
	if r, ok := fieldCache.Load(t); ok {
		return r.(fieldsResult).paths, r.(fieldsResult).err
	}
	var r fieldsResult
	if t.Kind() == reflect.Struct {
		r.paths, r.err = structFields(t, nil)
	} else if holdsPersonal(t, map[reflect.Type]bool{}) {
		r.err = fmt.Errorf("personal data: %v holds kit.Personal outside a struct field", t)
	}
	fieldCache.Store(t, r)
	return r.paths, r.err
}

func structFields(t reflect.Type, prefix []int) ([][]int, error) {
	var paths [][]int
	for i := range t.NumField() {
		f := t.Field(i)
		path := append(append([]int(nil), prefix...), i)
		switch {
		case reflect.PointerTo(f.Type).Implements(personalType):
			paths = append(paths, path)
		case f.Type.Kind() == reflect.Struct:
			sub, err := structFields(f.Type, path)
			if err != nil {
				return nil, err
			}
			paths = append(paths, sub...)
		case holdsPersonal(f.Type, map[reflect.Type]bool{}):
			return nil, fmt.Errorf("personal data: %v.%s holds kit.Personal behind a pointer, slice or map", t, f.Name)
		}
	}
	return paths, nil
}

// holdsPersonal reports whether values of t can reach a kit.Personal.
func holdsPersonal(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	if reflect.PointerTo(t).Implements(personalType) {
		return true
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return holdsPersonal(t.Elem(), seen)
	case reflect.Map:
		return holdsPersonal(t.Key(), seen) || holdsPersonal(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsPersonal(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}
