package encrypt_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/encrypt"
	"github.com/cloakroom/cloakroom/internal/testenv"
)

// checkErr asserts that err wraps want and names the package once, at the
// front.
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	testenv.ErrorNamesPackage(t, "encrypt", what, err, want)
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
