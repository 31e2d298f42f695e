package encrypt_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/encrypt"
)

// checkErr asserts that err wraps want and names the package once, at the
// front.
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want one wrapping %v", what, err, want)
	}
	msg := err.Error()
	if n := strings.Count(msg, "encrypt:"); n != 1 || !strings.HasPrefix(msg, "encrypt: ") {
		t.Errorf("%s: %q names the package %d times, want once at the front", what, msg, n)
	}
	if strings.Count(msg, "cloakroom: ") > 1 {
		t.Errorf("%s: %q repeats \"cloakroom: \"", what, msg)
	}
}

func TestErrorMessages(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, encrypt.KeySize), bytes.Repeat([]byte{2}, encrypt.KeySize)
	_, err := encrypt.New(nil)
	checkErr(t, "no key", err, core.ErrInvalidConfig)
	_, err = encrypt.New(nil, k1[1:])
	checkErr(t, "short key", err, core.ErrInvalidConfig)
	_, err = encrypt.New(nil, k1, k1)
	checkErr(t, "repeated key", err, core.ErrInvalidConfig)

	c1, err := encrypt.New(nil, k1)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := encrypt.New(nil, k2)
	if err != nil {
		t.Fatal(err)
	}
	data, err := c1.Encode(map[string]json.RawMessage{"a": json.RawMessage("1")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c2.Decode(data)
	checkErr(t, "decode under an unknown key", err, core.ErrTampered)
	_, err = c1.Decode([]byte(`{"a":1}`))
	checkErr(t, "decode of plain JSON", err, core.ErrTampered)
	_, err = c1.Decode(data[:len(data)-8])
	checkErr(t, "decode of a truncated value", err, core.ErrTampered)
	_, err = c1.Decode(append([]byte(nil), data[:len(data)-1]...))
	checkErr(t, "decode of a value one character short", err, core.ErrTampered)
	_, err = c1.Decode([]byte("e1.!!!"))
	checkErr(t, "decode of bad base64", err, core.ErrTampered)
}
