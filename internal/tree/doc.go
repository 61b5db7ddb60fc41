// Package tree holds checks of the whole source tree that no one package
// can make of itself, as tests: small helpers that must live once.
package tree
