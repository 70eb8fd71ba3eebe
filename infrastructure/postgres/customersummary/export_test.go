package customersummary

// ConsumerFor exposes the consumer of any version, to test a blue/green switch.
var ConsumerFor = consumerFor
