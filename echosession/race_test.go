//go:build race

package echosession_test

func init() { raceEnabled = true }
