package shipment

import "github.com/example/orders/domain/kit"

// Resource names the shipment in errors ("shipment not found", code "shipment_not_found").
const Resource = "shipment"

// ErrNotFound answers any command but CreateShipment on a shipment never created.
var ErrNotFound = kit.NotFound(Resource)

// The conflicts the decider returns; match them with errors.Is.
var (
	ErrExists            = &kit.ConflictError{Resource: Resource, Code: "shipment_exists", Message: "the order already has a shipment", Exists: true}
	ErrOrderNotConfirmed = conflict("order_not_confirmed", "only a confirmed order can be shipped")
	ErrNotPending        = conflict("shipment_not_pending", "only a pending shipment can be dispatched")
	ErrNotDispatched     = conflict("shipment_not_dispatched", "only a dispatched shipment can be delivered")
	ErrAlreadyDispatched = conflict("shipment_already_dispatched", "a shipment can only be cancelled before it is dispatched")
)

// Errors is every error the decider returns: the service checks when it starts that
// its transport answers each with a catalogued problem.
var Errors = []error{ErrNotFound, ErrExists, ErrOrderNotConfirmed, ErrNotPending, ErrNotDispatched, ErrAlreadyDispatched,
	&kit.ValidationError{}}

func conflict(code, message string) *kit.ConflictError {
	return &kit.ConflictError{Resource: Resource, Code: code, Message: message}
}
