// Package concurrencytest holds the tests of parallel requests of one
// session through Gin and Echo with every versioned store. It has no
// non-test code.
package concurrencytest
