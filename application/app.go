package application

// App groups the use cases, for the composition root to build once and hand to the
// transport. It is a plain struct of handlers, not a registry: each caller names the
// handler it uses.
type App struct {
	Commands Commands
	Queries  Queries
}

// Commands change orders.
type Commands struct {
	PlaceOrder   *PlaceOrderHandler
	AddOrderLine *AddOrderLineHandler
	ConfirmOrder *ConfirmOrderHandler
	CancelOrder  *CancelOrderHandler
}

// Queries read orders.
type Queries struct {
	GetOrder     *GetOrderHandler
	ListOrders   *ListOrdersHandler
	OrderHistory *OrderHistoryHandler
	OrderAsOf    *OrderAsOfHandler
}

// NewApp wires every handler to the given ports.
func NewApp(tx OrderTransactor, q OrderQueries, cfg RunnerConfig) App {
	runner := NewCommandRunner(tx, cfg)
	return App{
		Commands: Commands{
			PlaceOrder:   NewPlaceOrderHandler(runner),
			AddOrderLine: NewAddOrderLineHandler(runner),
			ConfirmOrder: NewConfirmOrderHandler(runner),
			CancelOrder:  NewCancelOrderHandler(runner),
		},
		Queries: Queries{
			GetOrder:     NewGetOrderHandler(q),
			ListOrders:   NewListOrdersHandler(q),
			OrderHistory: NewOrderHistoryHandler(q),
			OrderAsOf:    NewOrderAsOfHandler(q),
		},
	}
}
