// Package eventcodec maps domain events to what the event store keeps (a type name, a
// schema version and a JSON payload) and back, upcasting payloads written by older
// versions of the code to the shape the code has now.
package eventcodec

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
)

// ErrUnknownEvent is returned for an event type the registry was not told about, in
// either direction. It is loud on purpose: an event that cannot be read is data that
// would silently vanish from every fold.
var ErrUnknownEvent = errors.New("eventcodec: unknown event type")

// Upcaster turns a payload of one schema version into the next version's shape.
type Upcaster func(payload json.RawMessage) (json.RawMessage, error)

// Registry knows the events of one aggregate, whose events implement E.
type Registry[E any] struct {
	byGoType  map[reflect.Type]*entry[E]
	byName    map[string]*entry[E]
	upcasters map[string]map[int]Upcaster // name -> from version -> to version+1
}

type entry[E any] struct {
	name    string
	version int
	goType  reflect.Type
	decode  func([]byte) (E, error)
}

// New returns an empty registry.
func New[E any]() *Registry[E] {
	return &Registry[E]{
		byGoType:  map[reflect.Type]*entry[E]{},
		byName:    map[string]*entry[E]{},
		upcasters: map[string]map[int]Upcaster{},
	}
}

// Register maps the Go type T to name at its current schema version. It panics on a
// duplicate or on a T that is not an E: both are programming errors found at start-up.
func Register[T any, E any](r *Registry[E], name string, version int) {
	var zero T
	if _, ok := any(zero).(E); !ok {
		panic(fmt.Sprintf("eventcodec: %T does not implement the registry's event type", zero))
	}
	t := reflect.TypeOf(zero)
	if _, dup := r.byGoType[t]; dup {
		panic(fmt.Sprintf("eventcodec: %v registered twice", t))
	}
	if _, dup := r.byName[name]; dup {
		panic(fmt.Sprintf("eventcodec: name %q registered twice", name))
	}
	if version < 1 {
		panic(fmt.Sprintf("eventcodec: %s: schema version must be at least 1", name))
	}
	e := &entry[E]{name: name, version: version, goType: t, decode: func(b []byte) (E, error) {
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			var none E
			return none, err
		}
		return any(v).(E), nil
	}}
	r.byGoType[t], r.byName[name] = e, e
}

// RegisterUpcaster registers how to read name's payloads of schema version from as
// version from+1. name is registered first, and from is below the version it is written
// at: an upcaster from that version means the version was not bumped with the change
// that needs the upcaster, and it panics, saying so.
func (r *Registry[E]) RegisterUpcaster(name string, from int, up Upcaster) {
	e, ok := r.byName[name]
	switch {
	case !ok:
		panic(fmt.Sprintf("eventcodec: an upcaster for %q, which is not registered: Register the event before its upcasters", name))
	case from < 1:
		panic(fmt.Sprintf("eventcodec: %s: an upcaster from schema version %d: versions start at 1", name, from))
	case from >= e.version:
		panic(fmt.Sprintf("eventcodec: %s: an upcaster from schema version %d, but %s is written at version %d: "+
			"an upcaster reads payloads older than what the code writes, so the change it is for needs a new version: "+
			"Register %s at version %d", name, from, name, e.version, name, from+1))
	}
	if r.upcasters[name] == nil {
		r.upcasters[name] = map[int]Upcaster{}
	}
	if _, dup := r.upcasters[name][from]; dup {
		panic(fmt.Sprintf("eventcodec: %s: upcaster from version %d registered twice", name, from))
	}
	r.upcasters[name][from] = up
}

// Check reports what the registry lacks: an event written at schema version n needs an
// upcaster from each version 1 to n-1, or payloads stored at that version cannot be read.
// The registries' constructors panic on it (MustCheck), so a forgotten upcaster stops
// the service at start, and every test that builds the registry, not only a test that
// happens to read an old payload.
func (r *Registry[E]) Check() error {
	var errs []error
	for _, name := range r.Names() {
		e := r.byName[name]
		for v := 1; v < e.version; v++ {
			if _, ok := r.upcasters[name][v]; !ok {
				errs = append(errs, fmt.Errorf("eventcodec: %s is written at schema version %d, but no upcaster reads version %d: "+
					"register one, RegisterUpcaster(%q, %d, ...), that gives a stored v%d payload the v%d shape", name, e.version, v, name, v, v, v+1))
			}
		}
	}
	return errors.Join(errs...)
}

// MustCheck returns r, and panics if Check finds it incomplete: for the registries'
// constructors, where a mistake is a programming error found at start-up.
func MustCheck[E any](r *Registry[E]) *Registry[E] {
	if err := r.Check(); err != nil {
		panic(err.Error())
	}
	return r
}

// Encode returns the stored name, the current schema version and the JSON payload.
func (r *Registry[E]) Encode(event E) (name string, version int, payload []byte, err error) {
	e, ok := r.byGoType[reflect.TypeOf(event)]
	if !ok {
		return "", 0, nil, fmt.Errorf("%w: %T", ErrUnknownEvent, event)
	}
	payload, err = json.Marshal(event)
	if err != nil {
		return "", 0, nil, fmt.Errorf("eventcodec: encode %s: %w", e.name, err)
	}
	return e.name, e.version, payload, nil
}

// Decode reads a stored event, upcasting it first if it was stored at an older version.
func (r *Registry[E]) Decode(name string, version int, payload []byte) (E, error) {
	var none E
	e, ok := r.byName[name]
	if !ok {
		return none, fmt.Errorf("%w: %q", ErrUnknownEvent, name)
	}
	if version > e.version {
		return none, fmt.Errorf("eventcodec: %s: stored at schema version %d, newer than this code's %d", name, version, e.version)
	}
	for v := version; v < e.version; v++ {
		up, ok := r.upcasters[name][v]
		if !ok {
			return none, fmt.Errorf("eventcodec: %s: no upcaster from schema version %d", name, v)
		}
		var err error
		if payload, err = up(payload); err != nil {
			return none, fmt.Errorf("eventcodec: %s: upcast from version %d: %w", name, v, err)
		}
	}
	event, err := e.decode(payload)
	if err != nil {
		return none, fmt.Errorf("eventcodec: decode %s v%d: %w", name, version, err)
	}
	return event, nil
}

// Version is the schema version name is written at now (and false for a name the
// registry does not know). Tests that write events by hand ask it rather than pin a
// number that the next schema change makes wrong.
func (r *Registry[E]) Version(name string) (int, bool) {
	e, ok := r.byName[name]
	if !ok {
		return 0, false
	}
	return e.version, true
}

// GoType is the Go type name is decoded into (and false for a name the registry does
// not know): what a test derives the shape of name's payloads from.
func (r *Registry[E]) GoType(name string) (reflect.Type, bool) {
	e, ok := r.byName[name]
	if !ok {
		return nil, false
	}
	return e.goType, true
}

// Names returns the stored names of the registry's events, sorted.
func (r *Registry[E]) Names() []string {
	names := make([]string, 0, len(r.byName))
	for name := range r.byName {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
