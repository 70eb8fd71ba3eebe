// Package kit is what every aggregate's domain shares: the decider shape, the kinds of
// error a decider returns (the HTTP layer maps kinds, never aggregate types) and the
// validation rules of free text. It imports only the standard library.
package kit
