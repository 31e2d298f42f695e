// Package djangotest holds the interop tests between gormstore with
// djangocodec and a real Django sharing one database. It has no non-test
// code.
package djangotest
