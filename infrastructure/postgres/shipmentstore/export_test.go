package shipmentstore

// Project is the shipment_overview projection, for tests that apply it more than once.
var Project = project
