package cookiestore_test

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// Session JSON as the codec writes it: a new visitor's single key, a
// signed-in user with a 20-item cart (121 bytes: stored as it is, under the
// compression threshold), and one with an 80-item cart of four-digit ids
// (441 bytes: compressed).
var benchSessions = []struct{ name, json string }{
	{"tiny", `{"v":1}`},
	{"visitor", `{"visited":true}`},
	{"realistic", realisticSession()},
	{"large", largeSession()},
}

func realisticSession() string {
	items := make([]string, 20)
	for i := range items {
		items[i] = strconv.Itoa(101 + i)
	}
	return `{"cart":[` + strings.Join(items, ",") + `],"username":"alice@example.com"}`
}

func largeSession() string {
	items := make([]string, 80)
	for i := range items {
		items[i] = strconv.Itoa(1000 + (4711+7919*i)%9000)
	}
	return `{"cart":[` + strings.Join(items, ",") + `],"username":"alice@example.com"}`
}

func BenchmarkSeal(b *testing.B) {
	st := must(b)
	exp := time.Now().Add(time.Hour)
	for _, bs := range benchSessions {
		data := []byte(bs.json)
		b.Run(bs.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := st.Seal(ctx, data, exp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	st := must(b)
	for _, bs := range benchSessions {
		v, err := st.Seal(ctx, []byte(bs.json), time.Now().Add(time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bs.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := st.Open(ctx, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
