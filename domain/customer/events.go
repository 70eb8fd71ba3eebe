// Package customer holds the facts about a customer that belong to no order: that its
// personal data was erased. A customer's stream is (StreamType, the customer's id).
package customer

import "time"

// StreamType names customers' streams.
const StreamType = "customer"

// MaxIDLength bounds a customer id, as an order's customer_id.
const MaxIDLength = 64

// PersonalDataErased records that the customer's data key was deleted: every piece of
// its personal data sealed until then, anywhere, can no longer be opened. It holds no
// personal data itself.
type PersonalDataErased struct {
	CustomerID string    `json:"customer_id"`
	ErasedAt   time.Time `json:"erased_at"`
}
