package personaldata

import (
	"errors"

	"github.com/example/orders/domain/kit"
)

// Stored is personal data as a read model keeps it: sealed, like the log (nil when
// there is none), in the JSON kit.Personal writes. The stores hand projections the
// events as stored; a clear value here would be a bug that leaks, so it is refused.
// It calls MarshalJSON itself: json.Marshal would scan its output again, twice its cost,
// on every write of every order with a contact.
func Stored[T any](p kit.Personal[T]) ([]byte, error) {
	if !p.IsSet() {
		return nil, nil
	}
	if !p.IsSealed() {
		return nil, errors.New("personal data reached a read model unsealed")
	}
	return p.MarshalJSON()
}
