package application

// App groups the use cases, for the composition root to build once and hand to the
// transport. It is a plain struct, not a registry: each caller names what it uses.
type App struct {
	Orders    OrderCommands
	Queries   Queries
	Shipments *Shipments // set by the composition root: application.NewShipments
}

// Queries read orders.
type Queries struct {
	GetOrder     *GetOrderHandler
	ListOrders   *ListOrdersHandler
	OrderHistory *OrderHistoryHandler
	OrderAsOf    *OrderAsOfHandler
	// CustomerSummary reads the asynchronous customer_summary read model; the
	// composition root sets it when it runs that read model's consumer.
	CustomerSummary *GetCustomerSummaryHandler
}

// NewApp wires every use case to the given ports.
func NewApp(orders OrderStore, q OrderQueries, cfg RunnerConfig) App {
	return App{
		Orders: NewOrderCommands(orders, cfg),
		Queries: Queries{
			GetOrder:     NewGetOrderHandler(q),
			ListOrders:   NewListOrdersHandler(q),
			OrderHistory: NewOrderHistoryHandler(q),
			OrderAsOf:    NewOrderAsOfHandler(q),
		},
	}
}
