//go:build race

package cookiestore

func init() { raceEnabled = true }
