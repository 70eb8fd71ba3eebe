package subscription

// StatusSQL is Statuses' statement, for the plan test.
const StatusSQL = statusSQL
