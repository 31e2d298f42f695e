package core_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/memstore"
)

// cartServer adds ?item= to the cart with core.Modify.
func cartServer(t *testing.T, optimistic bool) (*httptest.Server, string) {
	cfg := core.DefaultConfig()
	cfg.Optimistic = optimistic
	m, err := core.New(memstore.New(0), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		item := r.URL.Query().Get("item")
		err := core.Modify(s, "cart", func(cart []string, _ bool) ([]string, error) { return append(cart, item), nil })
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if r.URL.Query().Has("show") {
			cart, _, _ := core.GetAs[[]string](s, "cart")
			fmt.Fprint(w, len(cart))
		}
	})))
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/?item=first")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return srv, strings.SplitN(resp.Header.Get("Set-Cookie"), ";", 2)[0]
}

func addConcurrently(t *testing.T, srv *httptest.Server, cookie string, n int) int {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/?item=i%d", srv.URL, i), nil)
			req.Header.Set("Cookie", cookie)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("add %d: status %d", i, resp.StatusCode)
			}
		}(i)
	}
	wg.Wait()
	req, _ := http.NewRequest("GET", srv.URL+"/?item=last&show=1", nil)
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got int
	fmt.Fscan(resp.Body, &got)
	return got
}

func TestOptimisticLosesNoItem(t *testing.T) {
	srv, cookie := cartServer(t, true)
	if got := addConcurrently(t, srv, cookie, 50); got != 52 {
		t.Fatalf("cart holds %d items after 1 + 50 parallel + 1 adds, want 52", got)
	}
}

// Without Optimistic, Django's rule holds: the last writer wins, and
// parallel writers of one session can lose each other's changes.
func TestLastWriterWinsByDefault(t *testing.T) {
	srv, cookie := cartServer(t, false)
	got := addConcurrently(t, srv, cookie, 50)
	if got > 52 || got < 2 {
		t.Fatalf("cart holds %d items", got)
	}
	t.Logf("without Optimistic, %d of 52 adds survived (last writer wins)", got)
}

func TestOptimisticNeedsVersionedStore(t *testing.T) {
	cfg := core.DefaultConfig()
	cfg.Optimistic = true
	if _, err := core.New(noIndex{memstore.New(0)}, cfg); !errors.Is(err, core.ErrInvalidConfig) {
		t.Errorf("Optimistic over an unversioned store: %v", err)
	}
}
