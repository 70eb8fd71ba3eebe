package orderstore

// Project is the order_overview projection, for tests that apply it more than once.
var Project = project
