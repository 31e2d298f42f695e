// Package hardening runs the request/response rules, hostile input and
// store faults through Gin, Echo and net/http with every store on real
// backends. It has no non-test code.
package hardening
