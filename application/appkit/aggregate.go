package appkit

import "github.com/example/orders/domain/kit"

// Definition is what the kit needs to know of an aggregate owned by a customer: its
// name in errors, its decider, its not-found error and the customer a state belongs
// to. StaffOnly makes every command staff's only, checked before anything is read, so
// that a customer learns nothing of an instance, not even that it exists; otherwise
// each command authorizes on its own (Command.Authorize).
type Definition[C, E, S any] struct {
	Resource  string
	Decider   kit.Decider[C, E, S]
	NotFound  error
	Owner     func(S) string
	StaffOnly bool
}

// Aggregate is what the use cases of every owned aggregate share: the Owned reads
// (Get, AsOf, History), the handler its commands run on and its queries port, for
// its own list. An aggregate's use-case type embeds one and adds its commands (a few
// lines each) and its list.
type Aggregate[C, E, S any, Q OwnedReads[S, E]] struct {
	Owned[C, E, S]
	Commands *CommandHandler[C, E, S]
	Queries  Q
}

// NewAggregate returns the use cases of the aggregate d, writing through store and
// reading through queries.
func NewAggregate[C, E, S any, Q OwnedReads[S, E]](d Definition[C, E, S], store EventStore[S, E], queries Q, cfg RunnerConfig) Aggregate[C, E, S, Q] {
	commands := NewCommandHandler(d.Resource, store, d.Decider, cfg)
	commands.staffOnly = d.StaffOnly
	return Aggregate[C, E, S, Q]{Owned: NewOwned[C, E, S](d.Resource, queries, d.Decider, d.NotFound, d.Owner), Commands: commands, Queries: queries}
}
