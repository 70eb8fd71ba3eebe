package application

import (
	"context"
	"fmt"
	"time"

	"github.com/example/orders/application/appkit"
	"github.com/example/orders/domain/customer"
	"github.com/example/orders/domain/kit"
)

// PersonalDataEraser deletes a customer's data key and records PersonalDataErased, in
// one transaction; erased is false when the customer had no key (nothing to erase, and
// nothing recorded).
type PersonalDataEraser interface {
	ErasePersonalData(ctx context.Context, e customer.PersonalDataErased, md appkit.Metadata) (erased bool, err error)
}

// PersonalData is the erasure use case: the customer itself or staff may erase a
// customer's personal data (crypto-shredding: docs/architecture.md, "Personal data").
type PersonalData struct {
	eraser PersonalDataEraser
	now    func() time.Time
}

// NewPersonalData returns the use case erasing through eraser.
func NewPersonalData(eraser PersonalDataEraser, cfg appkit.RunnerConfig) *PersonalData {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &PersonalData{eraser: eraser, now: now}
}

// Erase erases the customer's personal data. Erasing twice, or a customer that never
// gave any, succeeds and changes nothing.
func (p *PersonalData) Erase(ctx context.Context, customerID string) error {
	var v kit.Validation
	v.Text("id", customerID, customer.MaxIDLength)
	if err := v.Err(); err != nil {
		return err
	}
	caller, err := appkit.Caller(ctx)
	if err != nil {
		return fmt.Errorf("ErasePersonalData: %w", err)
	}
	if !appkit.CanSeeCustomer(ctx, customerID) {
		return fmt.Errorf("ErasePersonalData of %q: %w", customerID, appkit.ErrForbidden)
	}
	md := appkit.MetadataFrom(ctx)
	md.Command, md.Actor = "ErasePersonalData", caller.Subject
	_, err = p.eraser.ErasePersonalData(ctx, customer.PersonalDataErased{CustomerID: customerID, ErasedAt: p.now().UTC()}, md)
	return err
}
