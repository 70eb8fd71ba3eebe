package subscription

// HeldBackSQL is heldBack's statement, for the plan test.
const HeldBackSQL = heldBackSQL
