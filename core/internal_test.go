package core

import (
	"context"
	"testing"
)

type nopStore struct{}

func (nopStore) Load(context.Context, string) (Record, error) { return Record{}, ErrNotFound }
func (nopStore) Save(context.Context, Record, SaveMode) error { return nil }
func (nopStore) Delete(context.Context, string) error         { return nil }

func TestCookieValue(t *testing.T) {
	for _, tc := range []struct {
		headers []string
		value   string
		present bool
	}{
		{nil, "", false},
		{[]string{"other=1"}, "", false},
		{[]string{"sessionid=abc"}, "abc", true},
		{[]string{"a=1; sessionid=abc; b=2"}, "abc", true},
		{[]string{`sessionid="abc"`}, "abc", true},
		{[]string{"sessionid="}, "", true},
		{[]string{"xsessionid=abc"}, "", false},
		{[]string{"a=1", "sessionid=second"}, "second", true},
		{[]string{"sessionid=first; sessionid=second"}, "first", true},
	} {
		c := cookieScanner{name: "sessionid", lines: tc.headers}
		v, ok := c.next()
		if v != tc.value || ok != tc.present {
			t.Errorf("%q: %q %v, want %q %v", tc.headers, v, ok, tc.value, tc.present)
		}
	}
}

func TestAppendJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"plain", `q"uote\`, "ctl\x01\n\t", "é✓𝄞", "\u2028\u2029", "bad\xffutf8", "<html>&"} {
		got := string(appendJSONString(nil, s))
		values, err := JSONCodec{}.Decode([]byte("{" + got + ":1}"))
		if err != nil {
			t.Fatalf("%q encoded as invalid JSON %s: %v", s, got, err)
		}
		if _, ok := values[stringsToValid(s)]; !ok {
			t.Errorf("%q round-tripped to %v", s, values)
		}
	}
}

func stringsToValid(s string) string {
	out := []rune{}
	for _, r := range s {
		out = append(out, r)
	}
	return string(out)
}
