package sqlitedb_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloakroom/cloakroom/gormstore/sqlitedb"
)

func TestErrorMessages(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := sqlitedb.Open(filepath.Join(notDir, "sessions.db"))
	if err == nil {
		t.Fatal("Open under a file: no error")
	}
	msg := err.Error()
	if n := strings.Count(msg, "sqlitedb:"); n != 1 || !strings.HasPrefix(msg, "sqlitedb: ") {
		t.Errorf("%q names the package %d times, want once at the front", msg, n)
	}
}
