package djangotest

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/internal/testenv"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/djangocodec"
	"github.com/cloakroom/cloakroom/gormstore"
	"github.com/cloakroom/cloakroom/gormstore/sqlitedb"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

const secret = "django-insecure-0123456789abcdefghijklmnopqrstuvwxyz!@#"

var script, _ = filepath.Abs("../../core/djangocodec/testdata/django_interop.py")

func django(t *testing.T, db, cmd, arg string) string {
	t.Helper()
	testenv.Short(t, "Django (python3-django)")
	if exec.Command("/usr/bin/python3", "-c", "import django").Run() != nil {
		testenv.Missing(t, "Django is not installed for /usr/bin/python3; apt-get install python3-django (scripts/install-deps.sh)")
	}
	c := exec.Command("/usr/bin/python3", script, cmd, arg)
	c.Env = append(os.Environ(), "DJ_SECRET="+secret, "DJ_DB="+db)
	out, err := c.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("django %s: %v\n%s", cmd, err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// TestSharedDatabase: Django creates django_session in SQLite; Go reads the
// sessions Django writes and writes sessions Django reads, expiry included.
func TestSharedDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	django(t, path, "migrate", "")
	db, err := sqlitedb.Open(path, &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := gormstore.New(context.Background(), db, gormstore.WithoutMigration())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	codec, err := djangocodec.New(secret)
	if err != nil {
		t.Fatal(err)
	}
	cfg := core.DefaultConfig()
	cfg.Codec = codec
	m, err := core.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var seen struct {
		user string
		age  time.Duration
		cart []int
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		seen.user, _, _ = djangocodec.UserID(s)
		seen.cart, _, _ = core.GetAs[[]int](s, "cart")
		seen.age = s.ExpiryAge()
		if r.URL.Path == "/write" {
			_ = s.Set("cart", append(seen.cart, 99))
			_ = s.Set("from", "go ✓")
			_ = s.SetExpiry(2 * time.Hour)
		}
	}))
	do := func(path, key string) string {
		req := httptest.NewRequest("GET", path, nil)
		if key != "" {
			req.Header.Set("Cookie", "sessionid="+key)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		if c := w.Header().Get("Set-Cookie"); c != "" {
			return strings.TrimPrefix(strings.SplitN(c, ";", 2)[0], "sessionid=")
		}
		return key
	}

	// Django writes a logged-in session with set_expiry(3600).
	key := django(t, path, "db-write", `{"data": {"_auth_user_id": "7", "_auth_user_backend": "django.contrib.auth.backends.ModelBackend", "cart": [1, 2]}, "expiry": 3600}`)
	do("/read", key)
	if seen.user != "7" || len(seen.cart) != 2 || seen.age != time.Hour {
		t.Fatalf("Go read Django's session as user %q cart %v age %v", seen.user, seen.cart, seen.age)
	}

	// Go updates it; Django reads Go's data and expiry.
	if got := do("/write", key); got != key {
		t.Fatalf("the key changed on an update: %q -> %q", key, got)
	}
	var back struct {
		Exists    bool           `json:"exists"`
		Data      map[string]any `json:"data"`
		ExpiryAge float64        `json:"expiry_age"`
	}
	if err := json.Unmarshal([]byte(django(t, path, "db-read", key)), &back); err != nil {
		t.Fatal(err)
	}
	if !back.Exists || back.Data["from"] != "go ✓" || back.Data["_auth_user_id"] != "7" || len(back.Data["cart"].([]any)) != 3 {
		t.Errorf("Django read %+v", back)
	}
	if math.Abs(back.ExpiryAge-7200) > 5 {
		t.Errorf("Django sees an expiry age of %v s, want 7200", back.ExpiryAge)
	}

	// A new session written by Go is one Django can load.
	fresh := do("/write", "")
	back.Data = nil
	if err := json.Unmarshal([]byte(django(t, path, "db-read", fresh)), &back); err != nil {
		t.Fatal(err)
	}
	if !back.Exists || back.Data["from"] != "go ✓" {
		t.Errorf("Django cannot load the session Go created: %+v", back)
	}

	// Tampered session_data: both sides see an empty session.
	if err := db.Exec("UPDATE django_session SET session_data = 'x' || session_data WHERE session_key = ?", key).Error; err != nil {
		t.Fatal(err)
	}
	do("/read", key)
	if seen.user != "" || seen.cart != nil {
		t.Errorf("Go read a tampered row as user %q cart %v", seen.user, seen.cart)
	}
	back.Data = nil
	if err := json.Unmarshal([]byte(django(t, path, "db-read", key)), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Data) != 0 {
		t.Errorf("Django read a tampered row as %v", back.Data)
	}
}
