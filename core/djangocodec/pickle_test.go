package djangocodec

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/internal/testenv"
)

// samplePickles are Python 3.11's pickle.dumps, at protocols 0 to 5, of
//
//	{"_auth_user_id": "1", "cart": [1, (2, "x"), []], "n": -2**70, "f": 0.5,
//	 "b": False, "z": None, "o": {"k": "\u2028\U0001d11e"},
//	 "_session_expiry": datetime.datetime(2026, 11, 30, 21, 0, 0, 123456, tzinfo=pytz.utc),
//	 "tz": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=-5, minutes=-30))),
//	 "naive": datetime.datetime(2026, 1, 2)}
var samplePickles = []string{
	"286470300a565f617574685f757365725f69640a70310a56310a70320a7356636172740a70330a286c70340a49310a612849320a56780a70350a7470360a61286c70370a6173566e0a70380a4c2d313138303539313632303731373431313330333432344c0a7356660a70390a46302e350a7356620a7031300a4930300a73567a0a7031310a4e73566f0a7031320a28647031330a566b0a7031340a565c75323032385c5530303031643131650a7031350a7373565f73657373696f6e5f6578706972790a7031360a636461746574696d650a6461746574696d650a7031370a28635f636f646563730a656e636f64650a7031380a285607ea0b1e155c75303030305c753030303001e2400a7031390a566c6174696e310a7032300a747032310a527032320a637079747a0a5f5554430a7032330a2874527032340a747032350a527032360a7356747a0a7032370a6731370a286731380a285607ea01020304055c75303030305c75303030305c75303030300a7032380a6732300a747032390a527033300a636461746574696d650a74696d657a6f6e650a7033310a28636461746574696d650a74696d6564656c74610a7033320a28492d310a4936363630300a49300a747033330a527033340a747033350a527033360a747033370a527033380a73566e616976650a7033390a6731370a286731380a285607ea01025c75303030305c75303030305c75303030305c75303030305c75303030305c75303030300a7034300a6732300a747034310a527034320a747034330a527034340a732e",
	"7d710028580d0000005f617574685f757365725f69647101580100000031710258040000006361727471035d7104284b01284b0258010000007871057471065d71076558010000006e71084c2d313138303539313632303731373431313330333432344c0a5801000000667109473fe0000000000000580100000062710a4930300a58010000007a710b4e58010000006f710c7d710d58010000006b710e5807000000e280a8f09d849e710f73580f0000005f73657373696f6e5f6578706972797110636461746574696d650a6461746574696d650a711128635f636f646563730a656e636f64650a711228580c00000007c3aa0b1e15000001c3a240711358060000006c6174696e317114747115527116637079747a0a5f5554430a71172952711874711952711a5802000000747a711b681128681228580b00000007c3aa0102030405000000711c681474711d52711e636461746574696d650a74696d657a6f6e650a711f28636461746574696d650a74696d6564656c74610a7120284affffffff4a280401004b0074712152712274712352712474712552712658050000006e616976657127681128681228580b00000007c3aa01020000000000007128681474712952712a74712b52712c752e",
	"80027d710028580d0000005f617574685f757365725f69647101580100000031710258040000006361727471035d7104284b014b0258010000007871058671065d71076558010000006e71088a090000000000000000c05801000000667109473fe0000000000000580100000062710a8958010000007a710b4e58010000006f710c7d710d58010000006b710e5807000000e280a8f09d849e710f73580f0000005f73657373696f6e5f6578706972797110636461746574696d650a6461746574696d650a7111635f636f646563730a656e636f64650a7112580c00000007c3aa0b1e15000001c3a240711358060000006c6174696e317114867115527116637079747a0a5f5554430a71172952711886711952711a5802000000747a711b68116812580b00000007c3aa0102030405000000711c681486711d52711e636461746574696d650a74696d657a6f6e650a711f636461746574696d650a74696d6564656c74610a71204affffffff4a280401004b0087712152712285712352712486712552712658050000006e61697665712768116812580b00000007c3aa01020000000000007128681486712952712a85712b52712c752e",
	"80037d710028580d0000005f617574685f757365725f69647101580100000031710258040000006361727471035d7104284b014b0258010000007871058671065d71076558010000006e71088a090000000000000000c05801000000667109473fe0000000000000580100000062710a8958010000007a710b4e58010000006f710c7d710d58010000006b710e5807000000e280a8f09d849e710f73580f0000005f73657373696f6e5f6578706972797110636461746574696d650a6461746574696d650a7111430a07ea0b1e15000001e2407112637079747a0a5f5554430a7113295271148671155271165802000000747a71176811430a07ea01020304050000007118636461746574696d650a74696d657a6f6e650a7119636461746574696d650a74696d6564656c74610a711a4affffffff4a280401004b0087711b52711c85711d52711e86711f52712058050000006e6169766571216811430a07ea01020000000000007122857123527124752e",
	"8004951f010000000000007d94288c0d5f617574685f757365725f6964948c0131948c0463617274945d94284b014b028c01789486945d94658c016e948a090000000000000000c08c016694473fe00000000000008c016294898c017a944e8c016f947d948c016b948c07e280a8f09d849e94738c0f5f73657373696f6e5f657870697279948c086461746574696d65948c086461746574696d65949394430a07ea0b1e15000001e240948c047079747a948c045f555443949394295294869452948c02747a946813430a07ea01020304050000009468118c0874696d657a6f6e6594939468118c0974696d6564656c74619493944affffffff4a280401004b008794529485945294869452948c056e61697665946813430a07ea01020000000000009485945294752e",
	"8005951f010000000000007d94288c0d5f617574685f757365725f6964948c0131948c0463617274945d94284b014b028c01789486945d94658c016e948a090000000000000000c08c016694473fe00000000000008c016294898c017a944e8c016f947d948c016b948c07e280a8f09d849e94738c0f5f73657373696f6e5f657870697279948c086461746574696d65948c086461746574696d65949394430a07ea0b1e15000001e240948c047079747a948c045f555443949394295294869452948c02747a946813430a07ea01020304050000009468118c0874696d657a6f6e6594939468118c0974696d6564656c74619493944affffffff4a280401004b008794529485945294869452948c056e61697665946813430a07ea01020000000000009485945294752e",
}

// sampleJSON is what unpickleSession makes of every samplePickles entry.
const sampleJSON = `{"_auth_user_id":"1","cart":[1,[2,"x"],[]],"n":-1180591620717411303424,"f":0.5,"b":false,"z":null,"o":{"k":"\u2028𝄞"},` +
	`"_session_expiry":"2026-11-30T21:00:00.123456+00:00","tz":"2026-01-02T03:04:05-05:30","naive":"2026-01-02T00:00:00"}`

func pickleHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// requirePython skips (loudly; under CI=true it fails) when /usr/bin/python3
// is missing, and under -short.
func requirePython(t *testing.T) {
	t.Helper()
	testenv.Short(t, "Python 3 (/usr/bin/python3)")
	if exec.Command("/usr/bin/python3", "-c", "import pickle, json, datetime").Run() != nil {
		testenv.Missing(t, "/usr/bin/python3 is not runnable; apt-get install python3 (scripts/install-deps.sh installs python3-django)")
	}
}

// runPython runs script with stdin and returns its standard output.
func runPython(t *testing.T, script, stdin string) []byte {
	t.Helper()
	c := exec.Command("/usr/bin/python3", "-c", script)
	c.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.Bytes())
	}
	return out
}

// pickleNormJSON rewrites the JSON text s compactly with every number as the
// exact rational it denotes and every string as json.Marshal writes it, so
// that Python's json.dumps output (1.0, a raw U+2028) compares with ours.
func pickleNormJSON(t *testing.T, s string) string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var b strings.Builder
	if err := pickleNormValue(dec, &b); err != nil {
		t.Fatalf("pickleNormJSON(%.200s): %v", s, err)
	}
	return b.String()
}

func pickleNormValue(dec *json.Decoder, b *strings.Builder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok := tok.(type) {
	case json.Delim: // '{' or '['
		b.WriteRune(rune(tok))
		for i := 0; dec.More(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			if tok == '{' {
				if err := pickleNormValue(dec, b); err != nil { // the key
					return err
				}
				b.WriteByte(':')
			}
			if err := pickleNormValue(dec, b); err != nil {
				return err
			}
		}
		end, err := dec.Token()
		if err != nil {
			return err
		}
		b.WriteRune(rune(end.(json.Delim)))
	case string:
		enc, _ := json.Marshal(tok)
		b.Write(enc)
	case json.Number:
		r, ok := new(big.Rat).SetString(tok.String())
		if !ok {
			return fmt.Errorf("number %s", tok)
		}
		b.WriteString(r.RatString())
	default: // bool or nil
		enc, _ := json.Marshal(tok)
		b.Write(enc)
	}
	return nil
}

// pyToJSON is the Python side of TestPickleFromPython: for each case (a
// Python expression) it prints the pickles at protocols 0 to 5 and
// json.dumps of the value, datetimes as isoformat(); null when the case
// needs pytz and it is missing.
const pyToJSON = `
import sys, json, pickle, datetime
try:
    import pytz
except ImportError:
    pytz = None
out = []
for src in json.load(sys.stdin):
    if "pytz" in src and pytz is None:
        out.append(None)
        continue
    d = eval(src, {"datetime": datetime, "pytz": pytz})
    out.append({
        "json": json.dumps(d, separators=(",", ":"), ensure_ascii=False, default=lambda o: o.isoformat()),
        "pickles": [pickle.dumps(d, protocol=p).hex() for p in range(6)],
    })
json.dump(out, sys.stdout)
`

// TestPickleFromPython reads what Python's pickle.dumps writes, at every
// protocol, and compares with Python's own json.dumps of the value.
func TestPickleFromPython(t *testing.T) {
	requirePython(t)
	cases := []string{
		`{}`,
		`{"a": 1, "b": "x"}`,
		`{"k": "héllo ✓ 'single' \"double\" ; DROP TABLE x; -- \\ \u2028 \u2029 \U0001d11e", "e": "", "ctl": "\x00\x01\x1f\x7f\b\f\n\r\t<>&\\u0041\\U00000041\\\\u"}`,
		`{"n": [0, 1, -1, 255, 256, 65535, 65536, -129, 2**31-1, -2**31, 2**31, -2**31-1, 2**63-1, 2**63, -2**63, -2**63-1, 2**64, 10**100, -10**100, 2**2039, -2**2040, 10**4299]}`,
		`{"f": [1.5, -0.0, 0.0, 0.1, 1e300, -1e-300, 5e-324, 1.7976931348623157e308, 1.0, 100.0, 1e20, 1e21, 1e-7, 123456789.125]}`,
		`{"b": True, "c": False, "z": None}`,
		`{"t": (1, (2, "x"), ()), "u": (1,), "v": (1, 2), "w": (1, 2, 3), "x": (1, 2, 3, 4)}`,
		`{"o": {"x": [], "y": {}, "z": [{"a": [[[]]]}], "w": {"deeper": {"k": [None]}}}}`,
		`(lambda x, s: {"a": x, "b": x, "c": s, "d": s, "e": (x, x)})([1, [2]], "shared" * 3)`,
		`(lambda d: (d.pop("a"), d.update(a=3), d)[2])({"a": 1, "b": 2})`,
		`{"k%d" % i: i for i in range(2500)}`,
		`{"l": list(range(2500)), "m": [str(i) for i in range(1001)]}`,
		`{"s": "x" * 70000, "t": "é" * 300, "u": "\U0001d11e" * 100}`,
		`{"dt": datetime.datetime(2026, 11, 30, 21, 0, 0, 123456), "d0": datetime.datetime(1, 1, 1), "d9": datetime.datetime(9999, 12, 31, 23, 59, 59, 999999), "leap": datetime.datetime(2024, 2, 29, 12), "fold": datetime.datetime(2026, 11, 1, 1, 30, fold=1)}`,
		`{"u": datetime.datetime(2026, 11, 30, 21, 0, tzinfo=datetime.timezone.utc), "l": [datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)] * 2}`,
		`{"o": datetime.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone(datetime.timedelta(hours=-5, minutes=-30), "EST-ish")), ` +
			`"p": datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=45))), ` +
			`"s": datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone(datetime.timedelta(hours=1, seconds=7, microseconds=8))), ` +
			`"m": datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone(-datetime.timedelta(hours=23, minutes=59, seconds=59, microseconds=999999))), ` +
			`"z": datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone(datetime.timedelta(0), "Zulu"))}`,
		`{"_session_expiry": datetime.datetime(2026, 11, 30, 21, 0, tzinfo=pytz.utc), "x": [pytz.utc.localize(datetime.datetime(2020, 2, 29, 12, 0, 0, 1))]}`,
	}
	in, _ := json.Marshal(cases)
	var results []*struct {
		JSON    string
		Pickles []string
	}
	if err := json.Unmarshal(runPython(t, pyToJSON, string(in)), &results); err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r == nil {
			t.Logf("case %d needs pytz, which /usr/bin/python3 lacks: skipped", i)
			continue
		}
		want := pickleNormJSON(t, r.JSON)
		for proto, h := range r.Pickles {
			got, err := unpickleSession(pickleHex(t, h))
			if err != nil {
				t.Errorf("case %d %.60s, protocol %d: %v", i, cases[i], proto, err)
				continue
			}
			if !json.Valid(got) {
				t.Errorf("case %d, protocol %d: invalid JSON %.200s", i, proto, got)
			} else if g := pickleNormJSON(t, string(got)); g != want {
				t.Errorf("case %d %.60s, protocol %d:\n got %.400s\nwant %.400s", i, cases[i], proto, g, want)
			}
		}
	}
}

// TestPickleSampleDjangoCache reads what Django 3.2's cache session backend
// stores (locmem pickles as memcached clients do) for a logged-in session
// with set_expiry(datetime), and checks the pickle is Python's highest
// protocol with a pytz.utc datetime, as the cache holds it.
func TestPickleSampleDjangoCache(t *testing.T) {
	requirePython(t)
	if exec.Command("/usr/bin/python3", "-c", "import django, pytz").Run() != nil {
		testenv.Missing(t, "Django 3.2 with pytz is not installed for /usr/bin/python3; apt-get install python3-django")
	}
	const script = `
import datetime, sys
from django.conf import settings
settings.configure(USE_TZ=True, SECRET_KEY="x" * 50,
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"}},
    SESSION_ENGINE="django.contrib.sessions.backends.cache", INSTALLED_APPS=["django.contrib.sessions"])
import django
django.setup()
from django.contrib.sessions.backends.cache import SessionStore
from django.core.cache import cache
from django.utils import timezone
s = SessionStore()
s["_auth_user_id"] = "42"
s["cart"] = [1, 2, {"sku": "é<&>"}]
s.set_expiry(datetime.datetime(2031, 5, 6, 7, 8, 9, 10, tzinfo=timezone.utc))
s.save()
raw = cache._cache[cache.make_key(s.cache_key)]
print(type(s["_session_expiry"]).__name__, type(s["_session_expiry"].tzinfo).__name__)
print(raw.hex())
`
	lines := strings.Fields(string(runPython(t, script, "")))
	if len(lines) != 3 {
		t.Fatalf("python printed %q", lines)
	}
	t.Logf("Django's _session_expiry is a %s with tzinfo %s", lines[0], lines[1])
	got, err := unpickleSession(pickleHex(t, lines[2]))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"_auth_user_id":"42","cart":[1,2,{"sku":"é<&>"}],"_session_expiry":"2031-05-06T07:08:09.000010+00:00"}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// pyFromPickle is the Python side of TestPickleToPython: pickle.loads each
// line of hex and print json.dumps of it, datetimes as their repr.
const pyFromPickle = `
import sys, json, pickle
for line in sys.stdin:
    obj = pickle.loads(bytes.fromhex(line.strip()))
    assert type(obj) is dict, type(obj)
    print(json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=repr))
`

// TestPickleToPython has Python's pickle.loads read what pickleSession
// writes.
func TestPickleToPython(t *testing.T) {
	requirePython(t)
	paris := time.FixedZone("CET", 3600)
	cases := []struct {
		js   string
		dt   map[string]pyTime
		want string // Python's json.dumps(..., default=repr)
	}{
		{`{}`, nil, `{}`},
		{`{"a":1,"b":"x","c":[1,2.5,-0,1e300,0.1,1E2,-1.5e-7],"d":{"e":null,"f":true,"g":false},"t":[]}`, nil,
			`{"a":1,"b":"x","c":[1,2.5,-0.0,1e+300,0.1,100.0,-1.5e-07],"d":{"e":null,"f":true,"g":false},"t":[]}`},
		{`{"i":[0,255,256,65535,65536,-1,-128,-129,-256,-257,2147483647,2147483648,-2147483648,-2147483649,9223372036854775807,-9223372036854775808,18446744073709551616]}`, nil,
			`{"i":[0,255,256,65535,65536,-1,-128,-129,-256,-257,2147483647,2147483648,-2147483648,-2147483649,9223372036854775807,-9223372036854775808,18446744073709551616]}`},
		{`{"big":123456789012345678901234567890,"neg":-340282366920938463463374607431768211456,"p":340282366920938463463374607431768211455}`, nil,
			`{"big":123456789012345678901234567890,"neg":-340282366920938463463374607431768211456,"p":340282366920938463463374607431768211455}`},
		{`{"k":"héllo ✓ 'single' \"double\" ; DROP TABLE x; -- \\ \u2028 𝄞 \u0000\t<>&","":"e"}`, nil,
			`{"k":"héllo ✓ 'single' \"double\" ; DROP TABLE x; -- \\ ` + "\u2028" + ` 𝄞 \u0000\t<>&","":"e"}`},
		{`{"a":1,"b":2,"a":3}`, nil, `{"a":3,"b":2}`},
		{` {"o":{"x":[[[{"y":[]}]]]}} `, nil, `{"o":{"x":[[[{"y":[]}]]]}}`},
		{`{"_session_expiry":"2026-11-30T20:00:00.123456Z","x":"y","nested":{"_session_expiry":1}}`,
			map[string]pyTime{"_session_expiry": {t: time.Date(2026, 11, 30, 21, 0, 0, 123456789, paris)}, "nested": {t: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}, "absent": {}},
			`{"_session_expiry":"datetime.datetime(2026, 11, 30, 20, 0, 0, 123456, tzinfo=datetime.timezone.utc)","x":"y","nested":"datetime.datetime(2000, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)"}`},
		{`{"n":null,"m":{"deep":[1,{"x":2}]}}`,
			map[string]pyTime{"n": {t: time.Date(2026, 1, 2, 3, 4, 5, 6000, paris), naive: true}, "m": {t: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), naive: true}},
			`{"n":"datetime.datetime(2026, 1, 2, 3, 4, 5, 6)","m":"datetime.datetime(1, 1, 1, 0, 0)"}`},
		{`{"e":0}`, map[string]pyTime{"e": {t: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)}},
			`{"e":"datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.timezone.utc)"}`},
		{`{"s":"` + strings.Repeat("é", 40000) + `"}`, nil, `{"s":"` + strings.Repeat("é", 40000) + `"}`},
		{`{"d":` + strings.Repeat("[", 63) + strings.Repeat("]", 63) + `}`, nil, `{"d":` + strings.Repeat("[", 63) + strings.Repeat("]", 63) + `}`},
		{`{"n":-` + strings.Repeat("9", 4300) + `}`, nil, `{"n":-` + strings.Repeat("9", 4300) + `}`},
	}
	var in strings.Builder
	for _, c := range cases {
		p, err := pickleSession([]byte(c.js), c.dt)
		if err != nil {
			t.Fatalf("pickleSession(%.80s): %v", c.js, err)
		}
		fmt.Fprintf(&in, "%x\n", p)
	}
	got := strings.Split(strings.TrimSuffix(string(runPython(t, pyFromPickle, in.String())), "\n"), "\n")
	if len(got) != len(cases) {
		t.Fatalf("python printed %d lines for %d cases", len(got), len(cases))
	}
	for i, c := range cases {
		if got[i] != c.want {
			t.Errorf("pickleSession(%.80s):\nPython read %.300s\n       want %.300s", c.js, got[i], c.want)
		}
	}
}

// TestPickleRoundTrip: compact Go-encoded JSON survives pickleSession and
// unpickleSession byte for byte, and the samples read as sampleJSON.
func TestPickleRoundTrip(t *testing.T) {
	for _, js := range []string{
		`{"k":"héllo ✓ 'single' \"double\" ; DROP TABLE x; -- \\ \u2028 𝄞","e":""}`,
		`{"cart":[1,2,3],"n":-5,"big":123456789012345678901234567890,"f":1.5,"b":true,"z":null,"o":{"x":[]}}`,
		`{}`,
		`{"":{"":[{}]}}`,
		`{"html":"<a href=\"x\">&amp;</a>","ctl":"\u0000\u001f\b\f\n\r\t` + "\x7f" + `\u2029","bad":"` + "\ufffd" + `"}`,
		`{"i":[0,-1,255,256,65535,65536,2147483647,2147483648,-2147483648,-2147483649,-128,-129,-32768,-32769]}`,
		`{"f":[0.1,-0,1e+21,1e-7,5e-324,1.7976931348623157e+308,-2.5,100000000000000000000]}`,
		`{"n":` + strings.Repeat("7", 4300) + `,"m":-` + strings.Repeat("1", 617) + `}`,
		`{"d":` + strings.Repeat("[", 63) + strings.Repeat("]", 63) + `}`,
		sampleJSON,
	} {
		p, err := pickleSession([]byte(js), nil)
		if err != nil {
			t.Errorf("pickleSession(%.80s): %v", js, err)
			continue
		}
		got, err := unpickleSession(p)
		if err != nil {
			t.Errorf("unpickleSession(pickleSession(%.80s)): %v", js, err)
		} else if string(got) != js {
			t.Errorf("round trip:\n got %.300s\nwant %.300s", got, js)
		}
	}
	for proto, h := range samplePickles {
		got, err := unpickleSession(pickleHex(t, h))
		if err != nil || string(got) != sampleJSON {
			t.Errorf("sample at protocol %d: %v\n got %s\nwant %s", proto, err, got, sampleJSON)
		}
	}
	// A datetime entry reads back as its isoformat.
	p, err := pickleSession([]byte(`{"a":1,"_session_expiry":0,"b":[]}`), map[string]pyTime{
		"_session_expiry": {t: time.Date(2026, 11, 30, 22, 0, 0, 500, time.FixedZone("", 3600))},
		"a":               {t: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.FixedZone("", -3600)), naive: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := unpickleSession(p)
	if want := `{"a":"2026-01-02T03:04:05.000006","_session_expiry":"2026-11-30T21:00:00+00:00","b":[]}`; err != nil || string(got) != want {
		t.Errorf("datetimes: %v\n got %s\nwant %s", err, got, want)
	}
}

// TestPickleSessionRefuses: pickleSession refuses what is not a JSON object
// with errNotJSONObject, and what unpickleSession could not read back.
func TestPickleSessionRefuses(t *testing.T) {
	for _, js := range []string{``, `[]`, `"x"`, `1`, `null`, `{}{}`, `{} x`, `{"a":1`, `{"a" 1}`, `{1:2}`, `nope`, `{"a":1}]`} {
		if _, err := pickleSession([]byte(js), nil); !errors.Is(err, errNotJSONObject) {
			t.Errorf("pickleSession(%q): %v, want errNotJSONObject", js, err)
		}
	}
	for _, js := range []string{
		`{"d":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`,
		`{"n":` + strings.Repeat("9", 4301) + `}`,
		`{"f":1e400}`,
		`{"f":-1e309}`,
	} {
		if _, err := pickleSession([]byte(js), nil); err == nil {
			t.Errorf("pickleSession(%.80s) succeeded", js)
		}
	}
	if _, err := pickleSession([]byte(`{"e":0}`), map[string]pyTime{"e": {t: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}); err == nil {
		t.Error("pickleSession wrote the year 10000")
	}
}

// TestUnpickleRefuses: what is not a JSON-shaped dict, and malformed or
// hostile pickles, are refused with core.ErrTampered.
func TestUnpickleRefuses(t *testing.T) {
	bigLen := "\xff\xff\xff\xff\xff\xff\xff\x7f"
	cases := []struct{ name, p, why string }{
		{"empty", "", "no STOP"},
		{"set p5", pickleHexS("80059510000000000000007d948c0173948f94284b014b0290732e"), "opcode 0x8f"},
		{"set p2", pickleHexS("80027d71005801000000737101635f5f6275696c74696e5f5f0a7365740a71025d7103284b014b0265857104527105732e"), `global "__builtin__" "set"`},
		{"frozenset", pickleHexS("8004950b000000000000007d948c016694289194732e"), "opcode 0x91"},
		{"bytes p5", pickleHexS("8005950d000000000000007d948c0162944302616294732e"), "bytes value"},
		{"bytes p3", pickleHexS("80037d71005801000000627101430261627102732e"), "bytes value"},
		{"bytes p2", pickleHexS("80027d71005801000000627101635f636f646563730a656e636f64650a710258020000006162710358060000006c6174696e317104867105527106732e"), "bytes value"},
		{"OrderedDict", pickleHexS("800263636f6c6c656374696f6e730a4f726465726564446963740a71002952710158010000006171024b01732e"), `"collections" "OrderedDict"`},
		{"OrderedDict value p5", pickleHexS("80059530000000000000007d948c016f948c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c0161944b0173732e"), `"collections" "OrderedDict"`},
		{"os.system", "cos\nsystem\n(S'echo hi'\ntR.", `"os" "system"`},
		{"builtins eval", "\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94.", `"builtins" "eval"`},
		{"int key", pickleHexS("80059508000000000000007d944b014b02732e"), "dict key of type int"},
		{"nan", pickleHexS("80059511000000000000007d948c016694477ff8000000000000732e"), "float NaN"},
		{"inf", pickleHexS("80027d71005801000000667101477ff0000000000000732e"), "float +Inf"},
		{"inf text", "(dVf\nF1e999\ns.", "float +Inf"},
		{"nan text", "(dVf\nFnan\ns.", "malformed float"},
		{"date", pickleHexS("80059527000000000000007d948c0164948c086461746574696d65948c0464617465949394430407e401029485945294732e"), `"datetime" "date"`},
		{"pytz Paris", pickleHexS("8005955e000000000000007d948c0170948c086461746574696d65948c086461746574696d65949394430a07ea0102000000000000948c047079747a948c025f70949394288c0c4575726f70652f5061726973944d1c024b008c034c4d54947494529486945294732e"), `"pytz" "_p"`},
		{"timedelta value", pickleHexS("8005952b000000000000007d948c0174948c086461746574696d65948c0974696d6564656c74619493944b014b004b0087945294732e"), "datetime.timedelta value"},
		{"list", pickleHexS("80059508000000000000005d948c017894612e"), "a list, not a dict"},
		{"month 13", "\x80\x03}X\x01\x00\x00\x00acdatetime\ndatetime\nC\x0a\x07\xea\x0d\x01\x00\x00\x00\x00\x00\x00\x85Rs.", "out of range"},
		{"Feb 30", "\x80\x03}X\x01\x00\x00\x00acdatetime\ndatetime\nC\x0a\x07\xea\x02\x1e\x00\x00\x00\x00\x00\x00\x85Rs.", "out of range"},
		{"state of 9 bytes", "\x80\x03}X\x01\x00\x00\x00acdatetime\ndatetime\nC\x09\x07\xea\x02\x01\x00\x00\x00\x00\x00\x85Rs.", "state of 9 bytes"},
		{"datetime of a str", "\x80\x03}X\x01\x00\x00\x00acdatetime\ndatetime\nX\x01\x00\x00\x00x\x85Rs.", "call datetime.datetime(str)"},
		{"offset 24h", "\x80\x03}X\x01\x00\x00\x00acdatetime\ndatetime\nC\x0a\x07\xea\x02\x01\x00\x00\x00\x00\x00\x00cdatetime\ntimezone\ncdatetime\ntimedelta\nK\x01K\x00K\x00\x87R\x85R\x86Rs.", "call datetime.timezone"},
		{"unnormalised timedelta", "\x80\x03}X\x01\x00\x00\x00acdatetime\ntimedelta\nK\x00J\x80Q\x01\x00K\x00\x87Rs.", "call datetime.timedelta"},
		{"latin1 of a non-latin-1 str", "\x80\x02}X\x01\x00\x00\x00ac_codecs\nencode\nX\x02\x00\x00\x00\xc4\x80X\x06\x00\x00\x00latin1\x86Rs.", "non-latin-1"},
		{"encode utf-8", "\x80\x02}X\x01\x00\x00\x00ac_codecs\nencode\nX\x01\x00\x00\x00xX\x05\x00\x00\x00utf-8\x86Rs.", "call _codecs.encode(str, str)"},
		{"reduce on a str", "\x80\x02}X\x01\x00\x00\x00aX\x01\x00\x00\x00x)Rs.", "REDUCE on a str"},
		{"lone surrogate", "\x80\x02}X\x01\x00\x00\x00aX\x03\x00\x00\x00\xed\xa0\x80s.", "not valid UTF-8"},
		{"lone surrogate text", "(dVa\nV\\ud800\ns.", `bad \u escape`},
		{"truncated escape", "(dVa\nV\\u12\ns.", `truncated \u escape`},
		{"cycle", "\x80\x02}q\x00X\x01\x00\x00\x00ah\x00s.", "deeper than 64"},
		{"list cycle", "\x80\x02}X\x01\x00\x00\x00a]q\x01h\x01as.", "deeper than 64"},
		{"deep 1000", "\x80\x02}X\x01\x00\x00\x00a" + strings.Repeat("]", 1000) + strings.Repeat("a", 999) + "s.", "deeper than 64"},
		{"deep 65", "\x80\x02}X\x01\x00\x00\x00a" + strings.Repeat("]", 64) + strings.Repeat("a", 63) + "s.", "deeper than 64"},
		{"shared blow-up", pickleSharedBlowUp(), "exceeds"},
		{"huge BINUNICODE8", "\x80\x05}X\x01\x00\x00\x00a\x8d" + bigLen + "x", "length 9223372036854775807 exceeds"},
		{"huge BINUNICODE", "\x80\x02}X\x01\x00\x00\x00aX\xff\xff\xff\xffx", "exceeds"},
		{"huge LONG4", "\x80\x02}X\x01\x00\x00\x00a\x8b\xff\xff\xff\x7fx", "exceeds"},
		{"negative LONG4", "\x80\x02}X\x01\x00\x00\x00a\x8b\xff\xff\xff\xffx", "negative length"},
		{"long LONG4", "\x80\x02}X\x01\x00\x00\x00a\x8b\x00\x08\x00\x00" + strings.Repeat("\x01", 2048) + "s.", "longer than 4300 digits"},
		{"long INT", "(dVa\nI" + strings.Repeat("1", 4301) + "\ns.", "malformed int"},
		{"huge FRAME", "\x80\x04\x95" + bigLen + "}.", "frame of"},
		{"huge BINBYTES", "\x80\x03}X\x01\x00\x00\x00aB\xff\xff\xff\xffx", "exceeds"},
		{"unset memo", "\x80\x02}X\x01\x00\x00\x00ah\x07s.", "memo entry 7 is not set"},
		{"unset memo text", "(dVa\ng3\ns.", "memo entry 3 is not set"},
		{"negative PUT", "(dp-1\n.", "bad memo index"},
		{"proto 6", "\x80\x06}.", "PROTO 6"},
		{"late PROTO", "}\x80\x02.", "PROTO 2 not allowed here"},
		{"trailing bytes", "\x80\x02}.x", "followed by 1 more bytes"},
		{"two values", "\x80\x02}}.", "2 values"},
		{"open mark", "\x80\x02(}.", "1 marks"},
		{"pop below mark", "\x80\x02}(X\x01\x00\x00\x00aNs.", "stack underflow"},
		{"odd SETITEMS", "\x80\x02}(Nu.", "key without a value"},
		{"append to dict", "\x80\x02}Na.", "appends to a dict"},
		{"setitem on list", "\x80\x02]X\x01\x00\x00\x00aNs.", "sets items on a list"},
		{"no mark", "\x80\x02}u.", "no MARK"},
		{"INST", "(dVa\n(i__main__\nC\ns.", "opcode 0x69"},
		{"OBJ", "\x80\x02}X\x01\x00\x00\x00a(o.", "opcode 0x6f"},
		{"BUILD", "\x80\x02}}b.", "opcode 0x62"},
		{"NEWOBJ", "\x80\x02}X\x01\x00\x00\x00acdatetime\ndatetime\n)\x81s.", "opcode 0x81"},
		{"EXT1", "\x80\x02}X\x01\x00\x00\x00a\x82\x01s.", "opcode 0x82"},
		{"PERSID", "(dVa\nPx\ns.", "opcode 0x50"},
		{"BINPERSID", "\x80\x02}X\x01\x00\x00\x00aNQs.", "opcode 0x51"},
		{"STRING", "(dVa\nS'x'\ns.", "opcode 0x53"},
		{"POP", "\x80\x02}N0.", "opcode 0x30"},
		{"DUP", "\x80\x02}2.", "opcode 0x32"},
		{"BYTEARRAY8", "\x80\x05}X\x01\x00\x00\x00a\x96\x00\x00\x00\x00\x00\x00\x00\x00s.", "opcode 0x96"},
		{"INT with a plus", "(dVa\nI+1\ns.", "malformed int"},
		{"INT in hex", "(dVa\nI0x10\ns.", "malformed int"},
		{"no newline", "(dVa", "no end of line"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			got, err := unpickleSession([]byte(c.p))
			if !errors.Is(err, core.ErrTampered) {
				t.Fatalf("unpickleSession = %.100s, %v; want an error wrapping core.ErrTampered", got, err)
			}
			if !strings.Contains(err.Error(), c.why) {
				t.Errorf("error %q does not say %q", err, c.why)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("refusing took %v", d)
			}
		})
	}
	// 64 levels (the dict and 63 lists) are fine.
	if _, err := unpickleSession([]byte("\x80\x02}X\x01\x00\x00\x00a" + strings.Repeat("]", 63) + strings.Repeat("a", 62) + "s.")); err != nil {
		t.Errorf("63 nested lists: %v", err)
	}
}

// pickleSharedBlowUp is a pickle of a list of 31 lists, each holding the previous
// one twice through the memo: 2**30 elements in JSON from 300 bytes.
func pickleSharedBlowUp() string {
	p := "\x80\x02}X\x01\x00\x00\x00a]]q\x00a"
	for k := 1; k <= 30; k++ {
		p += fmt.Sprintf("](h%ch%ceq%ca", k-1, k-1, k)
	}
	return p + "s."
}

func pickleHexS(s string) string {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestUnpickleTruncated: every proper prefix of a valid pickle is refused.
func TestUnpickleTruncated(t *testing.T) {
	valid := append([]string{}, samplePickles...)
	if p, err := pickleSession([]byte(sampleJSON), map[string]pyTime{"naive": {t: time.Unix(0, 0), naive: true}}); err == nil {
		valid = append(valid, hex.EncodeToString(p))
	} else {
		t.Fatal(err)
	}
	for k, h := range valid {
		p := pickleHex(t, h)
		if _, err := unpickleSession(p); err != nil {
			t.Fatalf("pickle %d: %v", k, err)
		}
		for n := range len(p) {
			if _, err := unpickleSession(p[:n]); !errors.Is(err, core.ErrTampered) {
				t.Fatalf("pickle %d cut to %d of %d bytes: %v", k, n, len(p), err)
			}
		}
	}
}

// FuzzUnpickle: unpickleSession never panics, refuses with core.ErrTampered,
// and what it accepts is a JSON object that pickleSession writes back to a
// pickle that reads as the same JSON text.
func FuzzUnpickle(f *testing.F) {
	for _, h := range samplePickles {
		f.Add(pickleHex(f, h))
	}
	for _, js := range []string{`{"a":[1,{"b":null}],"c":-1.5e-7,"d":` + strings.Repeat("9", 30) + `,"e":"\u2028é"}`, `{}`} {
		p, err := pickleSession([]byte(js), map[string]pyTime{"e": {t: time.Unix(1e9, 1e3)}})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	f.Add([]byte("\x80\x02}q\x00X\x01\x00\x00\x00ah\x00s."))
	f.Add([]byte("(dp0\nVa\np1\n(lp2\nI1\naF1.5\nag1\nasVb\nL-12L\ns."))
	f.Fuzz(func(t *testing.T, p []byte) {
		out, err := unpickleSession(p)
		if err != nil {
			if !errors.Is(err, core.ErrTampered) {
				t.Fatalf("error not wrapping core.ErrTampered: %v", err)
			}
			return
		}
		if !json.Valid(out) || out[0] != '{' {
			t.Fatalf("not a JSON object: %.200s", out)
		}
		p2, err := pickleSession(out, nil)
		if err != nil {
			t.Fatalf("pickleSession(%.200s): %v", out, err)
		}
		out2, err := unpickleSession(p2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("round trip: %v\n got %.200s\nwant %.200s", err, out2, out)
		}
	})
}
