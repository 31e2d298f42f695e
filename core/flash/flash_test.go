package flash_test

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/flash"
	"github.com/cloakroom/cloakroom/core/memstore"
)

func newSession(t testing.TB) *core.Session {
	m, err := core.New(memstore.New(0), core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var x core.Exchange
	m.Begin(&x, httptest.NewRequest("GET", "/", nil))
	return x.Session()
}

func TestReadOnce(t *testing.T) {
	s := newSession(t)
	if msgs, err := flash.Read(s); msgs != nil || err != nil || s.Modified() {
		t.Fatalf("empty queue: %v %v modified=%v", msgs, err, s.Modified())
	}
	for i := 0; i < flash.MaxQueued+5; i++ {
		if err := flash.Add(s, flash.Info, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := flash.Read(s)
	if err != nil || len(msgs) != flash.MaxQueued || msgs[0].Text != "5" {
		t.Fatalf("Read = %d messages starting %v, %v", len(msgs), msgs[0], err)
	}
	if again, _ := flash.Read(s); again != nil {
		t.Errorf("messages read twice: %v", again)
	}
}

func Example() {
	m, _ := core.New(memstore.New(0), core.DefaultConfig())
	var x core.Exchange
	m.Begin(&x, httptest.NewRequest("POST", "/cart", nil))
	s := x.Session()
	_ = flash.Add(s, flash.Success, "Added to cart")
	msgs, _ := flash.Read(s) // on the next page
	fmt.Println(msgs)
	msgs, _ = flash.Read(s)
	fmt.Println(msgs)
	// Output:
	// [{success Added to cart}]
	// []
}
