package djangotest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/internal/testenv"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	gormmysql "gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/cloakroom/cloakroom/gormstore/sqlitedb"
)

// appDir is the Django project the HTTP matrix serves.
var appDir, _ = filepath.Abs("testdata/djangoapp")

// requireDjango ends the test unless Debian's Django imports under
// /usr/bin/python3.
func requireDjango(t *testing.T) {
	t.Helper()
	testenv.Short(t, "Django (python3-django)")
	requirePython(t, "django", "python3-django")
}

// requirePython ends the test unless module imports under /usr/bin/python3;
// pkg is the Debian package that has it.
func requirePython(t *testing.T, module, pkg string) {
	t.Helper()
	if exec.Command("/usr/bin/python3", "-c", "import "+module).Run() != nil {
		testenv.Missing(t, "%s does not import under /usr/bin/python3; apt-get install %s (scripts/install-deps.sh)", module, pkg)
	}
}

// manage runs manage.py with env to completion.
func manage(t *testing.T, env []string, args ...string) {
	t.Helper()
	c := exec.Command("/usr/bin/python3", append([]string{"manage.py"}, args...)...)
	c.Dir, c.Env = appDir, env
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("manage.py %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// djangoEnv is the environment of every Django process: the caller's
// settings over a minimal base (no bytecode written into testdata).
func djangoEnv(settings map[string]string) []string {
	env := []string{"PATH=/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "LANG=C.UTF-8"}
	for k, v := range settings {
		env = append(env, k+"="+v)
	}
	return env
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// startDjango runs manage.py runserver on a free port and returns its base
// URL once it answers. The process group is killed when the test ends; its
// output is printed if the test failed.
func startDjango(t *testing.T, env []string) string {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // another process may take the port first
		port := strconv.Itoa(freePort(t))
		out := new(testenv.Buffer)
		c := exec.Command("/usr/bin/python3", "manage.py", "runserver", "--noreload", "--nothreading", "127.0.0.1:"+port)
		c.Dir, c.Env, c.Stdout, c.Stderr = appDir, env, out, out
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		stop := func() {
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			<-done
		}
		base := "http://127.0.0.1:" + port
		if lastErr = waitHTTP(base+"/state", done); lastErr == nil {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("Django's output (%s):\n%s", base, tail(out.String(), 200))
				}
			})
			return base
		}
		stop()
		lastErr = fmt.Errorf("%w\n%s", lastErr, tail(out.String(), 60))
	}
	t.Fatalf("Django did not start: %v", lastErr)
	return ""
}

// waitHTTP polls url until it answers 200, for at most 20 s, or until the
// process exits.
func waitHTTP(url string, exited <-chan struct{}) error {
	deadline := time.Now().Add(20 * time.Second)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := hc.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			err = fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer within 20 s: %v", err)
		}
		select {
		case <-exited:
			return errors.New("runserver exited")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func tail(s string, lines int) string {
	ls := strings.Split(s, "\n")
	if len(ls) > lines {
		ls = append([]string{fmt.Sprintf("[... %d lines]", len(ls)-lines)}, ls[len(ls)-lines:]...)
	}
	return strings.Join(ls, "\n")
}

func quiet() *gorm.Config { return &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)} }

// database is one database Django migrates and Go opens.
type database struct {
	settings map[string]string // DJ_DB_* for Django
	db       *gorm.DB          // Go's connection
}

func closeDB(t *testing.T, db *gorm.DB) {
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
}

// sqliteDB is a SQLite file in the test's temporary directory.
func sqliteDB(t *testing.T) database {
	t.Helper()
	path := filepath.Join(t.TempDir(), "django.db")
	db, err := sqlitedb.Open(path, quiet())
	if err != nil {
		t.Fatal(err)
	}
	closeDB(t, db)
	return database{settings: map[string]string{"DJ_DB_ENGINE": "sqlite3", "DJ_DB_NAME": path}, db: db}
}

func freshName() string { return "cr_dj_" + strings.ToLower(rand.Text()[:12]) }

// postgresDB creates a database of its own on CLOAKROOM_POSTGRES_DSN's
// server (Django's table is always django_session) and drops it at the end.
func postgresDB(t *testing.T) database {
	t.Helper()
	requirePython(t, "psycopg2", "python3-psycopg2")
	dsn := testenv.Env(t, "CLOAKROOM_POSTGRES_DSN")
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("CLOAKROOM_POSTGRES_DSN: %v", err)
	}
	admin, err := gorm.Open(postgres.Open(dsn), quiet())
	if err != nil {
		t.Fatal(err)
	}
	closeDB(t, admin)
	name := freshName()
	if err := admin.Exec("CREATE DATABASE " + name).Error; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").Error; err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	// Later keywords win in a keyword/value DSN; a URL DSN takes a query
	// parameter the same way.
	own := dsn + " dbname=" + name
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		own = dsn + sep + "dbname=" + name
	}
	db, err := gorm.Open(postgres.Open(own), quiet())
	if err != nil {
		t.Fatal(err)
	}
	closeDB(t, db) // registered after the DROP: runs before it
	return database{db: db, settings: map[string]string{
		"DJ_DB_ENGINE": "postgresql", "DJ_DB_NAME": name, "DJ_DB_HOST": cfg.Host,
		"DJ_DB_PORT": strconv.Itoa(int(cfg.Port)), "DJ_DB_USER": cfg.User, "DJ_DB_PASSWORD": cfg.Password,
	}}
}

// mysqlDB creates a database of its own on CLOAKROOM_MYSQL_DSN's server and
// drops it at the end.
func mysqlDB(t *testing.T) database {
	t.Helper()
	requirePython(t, "MySQLdb", "python3-mysqldb")
	dsn := testenv.Env(t, "CLOAKROOM_MYSQL_DSN")
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("CLOAKROOM_MYSQL_DSN: %v", err)
	}
	admin, err := gorm.Open(gormmysql.Open(dsn), quiet())
	if err != nil {
		t.Fatal(err)
	}
	closeDB(t, admin)
	name := freshName()
	if err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4").Error; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := admin.WithContext(ctx).Exec("DROP DATABASE IF EXISTS " + name).Error; err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	own := cfg.Clone()
	own.DBName = name
	db, err := gorm.Open(gormmysql.Open(own.FormatDSN()), quiet())
	if err != nil {
		t.Fatal(err)
	}
	closeDB(t, db)
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		host, port = cfg.Addr, "3306"
	}
	return database{db: db, settings: map[string]string{
		"DJ_DB_ENGINE": "mysql", "DJ_DB_NAME": name, "DJ_DB_HOST": host,
		"DJ_DB_PORT": port, "DJ_DB_USER": cfg.User, "DJ_DB_PASSWORD": cfg.Passwd,
	}}
}
