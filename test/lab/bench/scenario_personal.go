package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// personalRow compares placing an order with a contact (personal data: sealed under
// the customer's data key, created in the same transaction) with placing one without.
type personalRow struct {
	Concurrency int     `json:"concurrency"`
	Plain       result  `json:"without_contact"`
	Contact     result  `json:"with_contact"`
	RPSRatio    float64 `json:"contact_rps_over_plain_rps"`
	CPURatio    float64 `json:"contact_service_cpu_over_plain"`
	// SealCPU is the service CPU per place (ms) of sealing itself (personaldata's Seal:
	// the clear value's JSON, AES-256-GCM, the data key), from the with-contact run's
	// CPU profile (-cpuprofile, at profileWorkers only).
	SealCPU float64 `json:"sealing_service_cpu_ms_per_op,omitempty"`
}

// sealFrame is the function whose share of a profile is the cost of sealing.
const sealFrame = "personaldata.(*Keys).Seal"

// contactBody is a place-order body with a contact; each customer gets its own data key
// on its first order, and reuses it after.
func contactBody(customer string) []byte {
	b, _ := json.Marshal(map[string]any{"customer_id": customer, "currency": "EUR", "contact": map[string]any{
		"name": "Ada Lovelace", "email": "ada@example.com",
		"address": map[string]string{"line1": "12 St James's Square", "postal_code": "SW1Y 4JH", "city": "London", "country": "GB"},
	}})
	return b
}

// runPersonal is the cost of personal data on place order: with and without a
// contact, interleaved, same service, same database.
func runPersonal(ctx context.Context, env *environment, rep *report) error {
	place := func(body func(string) []byte, prefix string) contender {
		return contender{name: prefix, profile: "personal-" + prefix, newOp: func(_, i int) func(context.Context) outcome {
			customer := fmt.Sprintf("bench-%s-%d", prefix, i)
			return func(ctx context.Context) outcome {
				a, err := env.http.do(ctx, http.MethodPost, "/orders", body(customer))
				return expect(a, err, http.StatusCreated)
			}
		}}
	}
	cs := []contender{place(placeBody, "plain"), place(contactBody, "contact")}
	if err := warmUp(ctx, env, cs); err != nil {
		return err
	}
	runs, err := interleave(ctx, env, "personal", cs)
	if err != nil {
		return err
	}
	for _, conc := range env.cfg.concurrency {
		row := personalRow{Concurrency: conc,
			Plain:   summarize("place order without a contact", conc, runs["plain"][conc]),
			Contact: summarize("place order with a contact", conc, runs["contact"][conc])}
		row.RPSRatio = ratio(row.Contact.RPS, row.Plain.RPS)
		row.CPURatio = ratio(row.Contact.CPU.Service, row.Plain.CPU.Service)
		rep.Personal = append(rep.Personal, row)
		for _, r := range []result{row.Plain, row.Contact} {
			rep.check("personal", r.Errors == 0 && r.Ops > 0, errorsOf(r))
		}
	}
	return nil
}
