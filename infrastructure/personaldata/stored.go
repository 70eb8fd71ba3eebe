package personaldata

import (
	"encoding/json"
	"errors"

	"github.com/example/orders/domain/kit"
)

// Stored is personal data as a read model keeps it: sealed, like the log (nil when
// there is none). The stores hand projections the events as stored; a clear value here
// would be a bug that leaks, so it is refused.
func Stored[T any](p kit.Personal[T]) ([]byte, error) {
	if !p.IsSet() {
		return nil, nil
	}
	if !p.IsSealed() {
		return nil, errors.New("personal data reached a read model unsealed")
	}
	return json.Marshal(p)
}
