package djangocodec

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
)

const formsSecret = "django-insecure-0123456789abcdefghijklmnopqrstuvwxyz!@#"

var (
	expiryAt   = time.Date(2030, 1, 2, 3, 4, 5, 500000000, time.UTC)
	expiryJSON = json.RawMessage(`"` + expiryAt.Format("2006-01-02T15:04:05.999999-07:00") + `"`) // core's form
)

func berlin(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	return loc
}

// written returns the _session_expiry JSON that Django finds in what c
// encodes for an absolute expiry.
func written(t *testing.T, c *Codec) (string, error) {
	t.Helper()
	data, err := c.Encode(map[string]json.RawMessage{core.ExpiryKey: expiryJSON, "a": json.RawMessage(`1`)})
	if err != nil {
		return "", err
	}
	raw, _, err := c.s.loads(string(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]json.RawMessage
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return string(v[core.ExpiryKey]), nil
}

func TestExpiryFormsByVersion(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want string
	}{
		{"default, the newest LTS: aware, six fraction digits", nil, `"2030-01-02T03:04:05.500000+00:00"`},
		{"4.2", []Option{WithVersion(Django42)}, `"2030-01-02T03:04:05.500000+00:00"`},
		{"4.1 with USE_TZ=False: naive in TIME_ZONE", []Option{WithVersion("4.1"), WithLocalTime(berlin(t))}, `"2030-01-02T04:04:05.500000"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(formsSecret, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := written(t, c); err != nil || got != tc.want {
				t.Fatalf("expiry written as %s, %v; want %s", got, err, tc.want)
			}
		})
	}
	t.Run("3.2 refuses an absolute expiry in JSON", func(t *testing.T) {
		c, _ := New(formsSecret, WithVersion(Django32))
		if _, err := written(t, c); !errors.Is(err, ErrUnrepresentable) {
			t.Fatalf("got %v, want ErrUnrepresentable", err)
		}
		cs, _ := NewCookieStore(formsSecret, time.Hour, WithVersion(Django32))
		if _, err := cs.Seal(context.Background(), []byte(`{"_session_expiry":`+string(expiryJSON)+`}`), expiryAt); !errors.Is(err, ErrUnrepresentable) {
			t.Fatalf("cookie store: %v, want ErrUnrepresentable", err)
		}
	})
	t.Run("3.2 keeps seconds", func(t *testing.T) {
		c, _ := New(formsSecret, WithVersion(Django32))
		data, err := c.Encode(map[string]json.RawMessage{core.ExpiryKey: json.RawMessage(`3600`)})
		if err != nil {
			t.Fatal(err)
		}
		v, err := c.Decode(data)
		if err != nil || string(v[core.ExpiryKey]) != "3600" {
			t.Fatalf("%v %s", err, v[core.ExpiryKey])
		}
	})
	t.Run("the caller's map is left alone", func(t *testing.T) {
		c, _ := New(formsSecret, WithVersion("4.1"), WithLocalTime(berlin(t)))
		values := map[string]json.RawMessage{core.ExpiryKey: expiryJSON}
		if _, err := c.Encode(values); err != nil {
			t.Fatal(err)
		}
		if string(values[core.ExpiryKey]) != string(expiryJSON) {
			t.Fatalf("Encode changed its argument to %s", values[core.ExpiryKey])
		}
	})
	for _, bad := range []Version{"3.1", "2.2", "four", "4", "4.x", "-5.1"} {
		if _, err := New(formsSecret, WithVersion(bad)); !errors.Is(err, core.ErrInvalidConfig) {
			t.Errorf("version %q: %v, want ErrInvalidConfig", bad, err)
		}
	}
}

// TestCookieStoreRecordsExpiryByVersion: an expiry Seal must record is
// written in a form the configured Django reads, and read back by Open.
func TestCookieStoreRecordsExpiryByVersion(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, v := range []Version{Django32, Django52} {
		cs, err := NewCookieStore(formsSecret, 14*24*time.Hour, WithVersion(v), WithClock(func() time.Time { return now }))
		if err != nil {
			t.Fatal(err)
		}
		value, err := cs.Seal(context.Background(), []byte(`{"a":1}`), now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		raw, _, _ := cs.s.loads(value, 0)
		_, exp, err := cs.Open(context.Background(), value)
		if err != nil || !exp.Equal(now.Add(time.Hour)) {
			t.Errorf("%s: recorded %s, read back %v, %v", v, raw, exp, err)
		}
		if want := map[Version]string{Django32: `{"_session_expiry":3600,"a":1}`, Django52: `{"_session_expiry":"2030-01-01T01:00:00+00:00","a":1}`}[v]; string(raw) != want {
			t.Errorf("%s: recorded %s, want %s", v, raw, want)
		}
	}
}

// TestReadsEveryForm: whatever form a Django version wrote, Go reads the
// same instant, naive values in the configured zone (UTC by default).
func TestReadsEveryForm(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		raw  string
		opts []Option
		want time.Time
	}{
		{`"2030-01-02T03:04:05+00:00"`, nil, at},
		{`"2030-01-02T04:04:05+01:00"`, nil, at},
		{`"2030-01-02T03:04:05.000001+00:00"`, nil, at.Add(time.Microsecond)},
		{`"2030-01-02T03:04:05"`, nil, at},
		{`"2030-01-02T03:04:05.123456"`, []Option{WithVersion(Django32)}, at.Add(123456 * time.Microsecond)},
		{`"2030-01-02T04:04:05"`, []Option{WithLocalTime(berlin(t))}, at},
	} {
		c, err := New(formsSecret, tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		signed := c.s.dumps([]byte(`{"_session_expiry":`+tc.raw+`,"a":1}`), true)
		values, err := c.Decode([]byte(signed))
		if err != nil {
			t.Fatal(err)
		}
		var s string
		if err := json.Unmarshal(values[core.ExpiryKey], &s); err != nil {
			t.Fatalf("%s decoded to %s", tc.raw, values[core.ExpiryKey])
		}
		got, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%s read as %s (%v), want %v", tc.raw, s, err, tc.want)
		}
	}
}

// TestSetExpiryAtFailsEarly: configured for Django 3.2, SetExpiryAt fails
// when called (the session is left as it was), for the database codec and
// the signed-cookie store, and SetExpiry still works.
func TestSetExpiryAtFailsEarly(t *testing.T) {
	codec, _ := New(formsSecret, WithVersion(Django32))
	cfg := core.DefaultConfig()
	cfg.Codec = codec
	server, err := core.New(memstore.New(0), cfg)
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := NewCookieStore(formsSecret, time.Hour, WithVersion(Django32))
	cookies, err := core.NewWithCookieStore(cs, core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]*core.Manager{"database codec": server, "signed cookies": cookies} {
		var x core.Exchange
		m.Begin(&x, httptest.NewRequest("GET", "/", nil))
		s := x.Session()
		if err := s.SetExpiryAt(time.Now().Add(time.Hour)); !errors.Is(err, ErrUnrepresentable) {
			t.Errorf("%s: SetExpiryAt = %v, want ErrUnrepresentable", name, err)
		}
		if s.Has(core.ExpiryKey) {
			t.Errorf("%s: the refused expiry was kept", name)
		}
		if err := s.SetExpiry(time.Hour); err != nil || s.ExpiryAge() != time.Hour {
			t.Errorf("%s: SetExpiry = %v, age %v", name, err, s.ExpiryAge())
		}
	}
}
