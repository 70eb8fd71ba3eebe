// Package fulfilment runs the application's fulfilment process manager as a reactor
// consumer of the log: it decodes order events and hands them to
// application.Fulfilment, at least once each.
package fulfilment

import (
	"context"

	"github.com/example/orders/application"
	"github.com/example/orders/domain/order"
	"github.com/example/orders/infrastructure/eventcodec"
	"github.com/example/orders/infrastructure/postgres/eventstore"
	"github.com/example/orders/infrastructure/postgres/orderstore"
	"github.com/example/orders/infrastructure/postgres/subscription"
)

// Name is the consumer's name in consumer_checkpoints.
const Name = "fulfilment"

// Consumer is the reactor that feeds f with order events.
func Consumer(f *application.Fulfilment, codec *eventcodec.Registry[order.Event]) subscription.Consumer {
	return subscription.Consumer{
		Name: Name,
		React: func(ctx context.Context, e eventstore.RecordedEvent) error {
			if e.Type != "OrderConfirmed" && e.Type != "OrderCancelled" {
				return nil
			}
			id, ev, ok, err := orderstore.DecodeEvent(codec, e)
			if !ok || err != nil {
				return err
			}
			return f.Handle(ctx, application.OrderEventMessage{EventID: e.EventID, OrderID: id, CorrelationID: e.CorrelationID, Event: ev})
		},
	}
}
