package appkit

import (
	"errors"
	"fmt"
	"reflect"
)

// Complete returns an error naming every field of the struct v that is not set (a nil
// interface, pointer, func, map or slice): what a composition root checks of the ports
// it was given and the use cases it built, so that a forgotten registration stops the
// service when it starts rather than a request with a nil dereference. No list to keep
// in step: a new field is checked as soon as it exists.
func Complete(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Struct {
		return fmt.Errorf("appkit.Complete: %T is not a struct", v)
	}
	var missing []error
	for i := range rv.NumField() {
		switch f := rv.Field(i); f.Kind() {
		case reflect.Interface, reflect.Pointer, reflect.Func, reflect.Map, reflect.Slice:
			if f.IsNil() {
				missing = append(missing, fmt.Errorf("%s.%s is not set", rv.Type(), rv.Type().Field(i).Name))
			}
		}
	}
	return errors.Join(missing...)
}
