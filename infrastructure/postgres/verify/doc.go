// Package verify holds the operators' consistency tools for the event log and the
// inline read models that register themselves with it:
//
//   - Verify folds every stream with its aggregate's domain fold and compares the result
//     with the rows its read model holds, lists root rows whose stream has no events,
//     and checks the log's own bookkeeping for every stream type (versions 1..n without
//     gaps, aggregate_heads at n). A stream type in the log without a registered read
//     model is a difference too, or (option Unregistered) handed to the caller: the
//     history of an aggregate that was removed. It reports each difference and changes
//     nothing.
//   - Rebuild recomputes one read model by replaying the aggregate's own inline
//     projection (the aggregatestore.Projection its Store runs) over every stream, in
//     one transaction: a rebuild writes exactly what the commands write, and Verify,
//     whose expected rows come from the domain fold, checks both independently.
//
// Both read the log in keyset pages ordered by (stream_type, stream_id,
// stream_version) and handle one stream at a time, so their memory grows with the page
// size and the largest single stream, never with the number of streams or events.
//
// # Registering a read model
//
// A read model is a ReadModel, made by For from a Definition in the aggregate's store
// package, next to its projection (orderstore.ReadModel is the example):
//
//	func ReadModel(codec *eventcodec.Registry[order.Event]) verify.ReadModel {
//		return verify.For(verify.Definition[order.Event, overview]{
//			Name: "order_overview", StreamType: StreamType, NoRow: "the events place no order",
//			Codec: codec, Project: project,
//			Expect: expectOverview,      // events -> rows, by the domain fold
//			CheckEvent: checkOrderEvent, // optional
//		})
//	}
//
//	type overview struct { // one field per table: the root a pointer, children slices
//		Row   *overviewRow `verify:"order_overview"`
//		Lines []lineRow    `verify:"order_overview_lines,stream=order_id,key=line_no,as=lines"`
//	}
//	type overviewRow struct { // one field per column
//		Status string `db:"status,word"`
//		...
//	}
//
// and the composition root adds one line to its list (cmd/orders readModels). Verify
// reads every column of every row and compares it with the row struct's field of the
// same name: nobody lists the columns, so a column a migration adds is reported on every
// row until the row struct has a field for it and Expect fills it, and from then on a
// projection that does not write it is reported too. What a read model must respect:
//
//   - Its last table is the root: one row per stream, keyed by the stream id (uuid
//     column "id") with the stream version it is at ("version"; other names in
//     IDColumn, VersionColumn). Orphans are found and counted there.
//   - Rebuild locks only the root table (EXCLUSIVE), so every projection statement
//     that writes a child table must write the root table in the same statement.
//   - The projection's statements are idempotent by version (they are, for the
//     Store's sake already).
//   - One read model per stream type.
package verify
