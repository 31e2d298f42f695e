package djangocodec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// Version names the Django release a Go application shares sessions with,
// as "major.minor" (see [WithVersion]). It decides the forms written for
// Django's _session_expiry key; every form any version writes is read
// whatever the setting.
type Version string

// The long-term support releases.
const (
	Django32 Version = "3.2"
	Django42 Version = "4.2"
	Django52 Version = "5.2"
	// DefaultVersion is the newest long-term support release.
	DefaultVersion = Django52
)

// WithVersion names the Django version shared with (default
// [DefaultVersion]; "" means the default too): "major.minor" from 3.2 on,
// or the constructors fail with core.ErrInvalidConfig. Before 4.1 Django keeps an absolute expiry
// (set_expiry with a datetime) as a datetime object, which its JSON
// serializer cannot write: the database, cached_db and signed_cookies
// formats then refuse one with [ErrUnrepresentable], and the cache format
// writes the datetime object Django 3.2 pickles. From 4.1 on it is an ISO
// 8601 string.
func WithVersion(v Version) Option { return func(o *options) { o.version = v } }

// WithLocalTime says that Django runs with USE_TZ = False and TIME_ZONE
// naming loc: it then writes naive datetimes (no UTC offset) meaning wall
// clock time in loc, and cannot compare an aware one with its own naive
// clock. Absolute expiries are then written naive in loc. Without this
// option they are written with their offset (USE_TZ = True), and naive
// values Django wrote are read as UTC (the default, as does a nil loc).
func WithLocalTime(loc *time.Location) Option { return func(o *options) { o.local = loc } }

// forms converts the values whose form depends on the Django version and
// its time settings between Django's forms and the one package core reads
// and writes (an ISO 8601 string with an offset, or a number of seconds).
type forms struct {
	version Version
	local   *time.Location // USE_TZ = False in this zone; nil: USE_TZ = True
	isoDate bool           // version >= 4.1: absolute expiries are ISO strings
}

// check validates the settings and derives isoDate.
func (f *forms) check() error {
	if f.version == "" {
		f.version = DefaultVersion
	}
	major, minor, ok := strings.Cut(string(f.version), ".")
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	if !ok || err1 != nil || err2 != nil || ma < 3 || mi < 0 || (ma == 3 && mi < 2) {
		return fmt.Errorf("djangocodec: Django version %q: want \"major.minor\" from 3.2 on: %w", f.version, core.ErrInvalidConfig)
	}
	f.isoDate = ma > 4 || (ma == 4 && mi >= 1)
	return nil
}

// zone is where naive datetimes are read.
func (f *forms) zone() *time.Location {
	if f.local != nil {
		return f.local
	}
	return time.UTC
}

// pyISO formats t as Python's datetime.isoformat does: microseconds only
// when not zero, and always six digits of them (Python before 3.11 reads
// no other width), the offset as +HH:MM unless naive.
func pyISO(t time.Time, naive bool) string {
	layout := "2006-01-02T15:04:05"
	if t.Nanosecond()/1000 != 0 {
		layout += ".000000"
	}
	if !naive {
		layout += "-07:00"
	}
	return t.Format(layout)
}

// parseISO reads the ISO 8601 forms Python's isoformat and package core
// write: with or without a fraction of up to nine digits, with an offset
// (+HH:MM or Z) or naive. naive reports that no offset was given; the
// time is then in loc.
func parseISO(s string, loc *time.Location) (t time.Time, naive bool, ok bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, false, true
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, loc); err == nil {
		return t, true, true
	}
	return time.Time{}, false, false
}

// absolute returns the absolute time an expiry value holds, if it is a
// JSON string in an ISO form.
func (f *forms) absolute(raw json.RawMessage) (time.Time, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return time.Time{}, false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return time.Time{}, false
	}
	t, _, ok := parseISO(s, f.zone())
	return t, ok
}

// toDjango returns the expiry value raw (core's form) in the form the
// configured Django reads from JSON, or an error wrapping
// [ErrUnrepresentable].
func (f *forms) toDjango(raw json.RawMessage) (json.RawMessage, error) {
	t, ok := f.absolute(raw)
	if !ok {
		return raw, nil // seconds, or something Django will refuse as core did
	}
	if !f.isoDate {
		return nil, fmt.Errorf("djangocodec: an absolute session expiry (%s) in JSON for Django %s, which reads only seconds there: %w", pyISO(t, false), f.version, ErrUnrepresentable)
	}
	if f.local != nil {
		return strconv.AppendQuote(nil, pyISO(t.In(f.local), true)), nil
	}
	return strconv.AppendQuote(nil, pyISO(t.UTC(), false)), nil
}

// fromDjango returns the expiry value raw (any form a Django version
// writes to JSON) in core's form: naive times become aware ones. It never
// fails; the error is for rewriteJSON.
func (f *forms) fromDjango(raw json.RawMessage) (json.RawMessage, error) {
	t, ok := f.absolute(raw)
	if !ok {
		return raw, nil
	}
	return strconv.AppendQuote(nil, pyISO(t.UTC(), false)), nil
}

// decodeValues applies fromDjango to the expiry of values, in place.
func (f *forms) decodeValues(values map[string]json.RawMessage) {
	if raw, ok := values[core.ExpiryKey]; ok {
		values[core.ExpiryKey], _ = f.fromDjango(raw)
	}
}

// sessionExpiry returns the _session_expiry value of the JSON session data
// (nil when it has none), and whether data is a JSON object.
func sessionExpiry(data []byte) (json.RawMessage, bool) {
	var probe struct {
		Expiry json.RawMessage `json:"_session_expiry"`
	}
	if json.Unmarshal(data, &probe) != nil {
		return nil, false
	}
	return probe.Expiry, true
}

// rewriteJSON applies conv to the expiry of the JSON object data, and
// returns data itself when it holds no expiry or conv changes nothing.
func rewriteJSON(data []byte, conv func(json.RawMessage) (json.RawMessage, error)) ([]byte, error) {
	if !bytes.Contains(data, []byte(core.ExpiryKey)) {
		return data, nil
	}
	raw, _ := sessionExpiry(data)
	if raw == nil {
		return data, nil
	}
	out, err := conv(raw)
	if err != nil {
		return nil, err
	}
	if string(out) == string(raw) {
		return data, nil
	}
	var values map[string]json.RawMessage
	if err := json.Unmarshal(data, &values); err != nil {
		return nil, fmt.Errorf("djangocodec: session data is not a JSON object: %w", core.ErrTampered)
	}
	values[core.ExpiryKey] = out
	return core.JSONCodec{}.Encode(values)
}

// CheckExpiry implements core.ExpiryChecker: an absolute expiry for Django
// before 4.1 gives an error wrapping [ErrUnrepresentable] when it is set.
func (c *Codec) CheckExpiry(raw json.RawMessage) error {
	_, err := c.s.forms.toDjango(raw)
	return err
}

// CheckExpiry implements core.ExpiryChecker, as [Codec.CheckExpiry] does.
func (c *CookieStore) CheckExpiry(raw json.RawMessage) error {
	_, err := c.s.forms.toDjango(raw)
	return err
}
