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
	e := &entry[E]{name: name, version: version, decode: func(b []byte) (E, error) {
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
// version from+1.
func (r *Registry[E]) RegisterUpcaster(name string, from int, up Upcaster) {
	if r.upcasters[name] == nil {
		r.upcasters[name] = map[int]Upcaster{}
	}
	if _, dup := r.upcasters[name][from]; dup {
		panic(fmt.Sprintf("eventcodec: %s: upcaster from version %d registered twice", name, from))
	}
	r.upcasters[name][from] = up
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

// Names returns the stored names of the registry's events, sorted.
func (r *Registry[E]) Names() []string {
	names := make([]string, 0, len(r.byName))
	for name := range r.byName {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
