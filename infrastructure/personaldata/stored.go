package personaldata

import (
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/example/orders/domain/kit"
)

// Stored is personal data as a read model keeps it: sealed, like the log (nil when
// there is none), in the JSON kit.Personal writes. The stores hand projections the
// events as stored; a clear value here would be a bug that leaks, so it is refused.
// It writes the JSON itself: json.Marshal would call MarshalJSON and then scan its
// output again, six times the cost, on every write of every order with a contact.
func Stored[T any](p kit.Personal[T]) ([]byte, error) {
	if !p.IsSet() {
		return nil, nil
	}
	key, sealed, ok := p.SealedForm()
	if !ok {
		return nil, errors.New("personal data reached a read model unsealed")
	}
	subject, err := json.Marshal(p.Subject())
	if err != nil {
		return nil, err
	}
	keyJSON, err := json.Marshal(key)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(`{"":,"":,"":""}`)+len(subjectField)+len(keyField)+len(sealedField)+len(subject)+len(keyJSON)+base64.StdEncoding.EncodedLen(len(sealed)))
	b = append(append(append(b, `{"`+subjectField+`":`...), subject...), `,"`+keyField+`":`...)
	b = append(append(b, keyJSON...), `,"`+sealedField+`":"`...)
	return append(base64.StdEncoding.AppendEncode(b, sealed), `"}`...), nil
}
