package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloakroom/cloakroom/internal/testenv"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium; under CI=true a missing browser
// fails the test, elsewhere it is a loud skip.
func chromiumPath(t *testing.T) string {
	for _, p := range []string{os.Getenv("CHROMIUM_BIN"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	testenv.Missing(t, "chromium is not installed; run scripts/install-deps.sh to run the browser test")
	return ""
}

// shopBinary builds the app once per test run.
func shopBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "shop")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("building the shop: %v", err)
	}
	return bin
}

// shopProcess is the app running as a separate process.
type shopProcess struct {
	t    *testing.T
	bin  string
	args []string
	cmd  *exec.Cmd
	url  string
	log  *strings.Builder
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startShop(t *testing.T, bin string, args ...string) *shopProcess {
	addr := freeAddr(t)
	p := &shopProcess{t: t, bin: bin, args: append([]string{"-addr", addr, "-bcrypt-cost", "4"}, args...), url: "http://" + addr, log: &strings.Builder{}}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *shopProcess) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("the shop did not come up: %s", p.log)
}

func (p *shopProcess) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	p.cmd = nil
}

func (p *shopProcess) restart() { p.stop(); p.start() }

// browser starts a headless Chromium with the flags this machine needs.
func browser(t *testing.T) context.Context {
	// Chromium may still be writing its profile as it exits, so the profile
	// is removed after the browser has closed, not by t.TempDir.
	profile, err := os.MkdirTemp("", "shop-e2e-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1200, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		_ = chromedp.Cancel(ctx) // closes the browser and waits for it
		cancelTimeout()
		cancel()
		cancelAlloc()
		for i := 0; i < 50 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

func sessionCookie(ctx context.Context) (string, error) {
	var value string
	err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		cookies, err := network.GetCookies().Do(ctx)
		for _, c := range cookies {
			if c.Name == "sessionid" {
				value = c.Value
			}
		}
		return err
	}))
	return value, err
}

func TestShopInBrowser(t *testing.T) {
	testenv.Short(t, "Chromium, and about 40 s")
	bin := shopBinary(t)
	for _, fw := range []string{"gin", "echo"} {
		t.Run(fw, func(t *testing.T) {
			t.Parallel() // a browser and a shop each, on ports of their own
			shopJourney(t, bin, fw)
		})
	}
}

func shopJourney(t *testing.T, bin, framework string) {
	ctx := browser(t)
	shop := startShop(t, bin, "-framework", framework, "-store", "sqlite", "-db", filepath.Join(t.TempDir(), "sessions.db"))
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v\nserver log:\n%s", what, err, shop.log)
		}
	}
	total := func() string {
		var s string
		run("read the total", chromedp.Text("#total", &s, chromedp.ByQuery))
		return s
	}

	// Add two products from the catalogue.
	run("add honey",
		chromedp.Navigate(shop.url+"/"),
		chromedp.SetValue("#p-honey input[name=qty]", "2", chromedp.ByQuery),
		chromedp.Click("#p-honey button", chromedp.ByQuery),
		chromedp.WaitVisible("#cart", chromedp.ByQuery))
	run("add sencha",
		chromedp.Navigate(shop.url+"/"),
		chromedp.Click("#p-tea-sencha button", chromedp.ByQuery),
		chromedp.WaitVisible("#cart", chromedp.ByQuery))
	if got := total(); got != "€34.50" {
		t.Fatalf("cart total %q, want €34.50", got)
	}
	run("reload", chromedp.Reload(), chromedp.WaitVisible("#cart", chromedp.ByQuery))
	if got := total(); got != "€34.50" {
		t.Fatalf("after reload: %q", got)
	}
	anon, err := sessionCookie(ctx)
	if err != nil || len(anon) != 32 {
		t.Fatalf("session cookie %q, %v", anon, err)
	}

	// The server process restarts; the cart is in SQLite.
	shop.restart()
	run("cart after restart", chromedp.Navigate(shop.url+"/cart"), chromedp.WaitVisible("#cart", chromedp.ByQuery))
	if got := total(); got != "€34.50" {
		t.Fatalf("after a server restart: %q", got)
	}

	// Log in: the key changes, the cart stays.
	var user string
	run("log in",
		chromedp.Navigate(shop.url+"/login"),
		chromedp.SendKeys("#username", "alice", chromedp.ByQuery),
		chromedp.SendKeys("#password", "wonderland", chromedp.ByQuery),
		chromedp.Click("#signin", chromedp.ByQuery),
		chromedp.WaitVisible("#cart", chromedp.ByQuery),
		chromedp.Text("#user", &user, chromedp.ByQuery))
	if user != "alice" {
		t.Fatalf("signed in as %q", user)
	}
	loggedIn, _ := sessionCookie(ctx)
	if loggedIn == anon || len(loggedIn) != 32 {
		t.Fatalf("session cookie %q after login, was %q: the key must change", loggedIn, anon)
	}
	if got := total(); got != "€34.50" {
		t.Fatalf("cart after login: %q", got)
	}

	// Alice is also signed in elsewhere; changing her password here signs
	// that other session out and keeps this one.
	other := otherDevice(t, shop.url)
	if !other.signedIn() {
		t.Fatal("the second device could not sign in")
	}
	run("change password",
		chromedp.Navigate(shop.url+"/account/password"),
		chromedp.SendKeys("#current", "wonderland", chromedp.ByQuery),
		chromedp.SendKeys("#new", "looking-glass", chromedp.ByQuery),
		chromedp.Submit("#new", chromedp.ByQuery),
		chromedp.WaitVisible(".flash.success", chromedp.ByQuery),
		chromedp.Text("#user", &user, chromedp.ByQuery))
	if user != "alice" {
		t.Fatalf("this browser was signed out by its own password change (user %q)", user)
	}
	if other.signedIn() {
		t.Fatal("the other device is still signed in after the password change")
	}

	// A forged POST without the CSRF token is rejected.
	var status int
	run("forged post", chromedp.Evaluate(`fetch('/cart/add', {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'sku=honey&qty=50'}).then(r => r.status)`,
		&status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if status != http.StatusForbidden {
		t.Fatalf("forged POST answered %d, want 403", status)
	}
	run("cart after forgery", chromedp.Navigate(shop.url+"/cart"), chromedp.WaitVisible("#cart", chromedp.ByQuery))
	if got := total(); got != "€34.50" {
		t.Fatalf("the forged POST changed the cart: %q", got)
	}

	// Screenshot of the cart page.
	var png []byte
	run("screenshot", chromedp.FullScreenshot(&png, 100))
	shot := filepath.Join(t.TempDir(), "cart-"+framework+".png")
	if dst := os.Getenv("SHOP_SCREENSHOT"); dst != "" && framework == "gin" {
		shot = dst
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("cart screenshot: %s (%d bytes)", shot, len(png))

	// Log out: the cookie goes, and so does the cart.
	run("log out", chromedp.Click("#logout", chromedp.ByQuery), chromedp.WaitVisible("#login-link", chromedp.ByQuery))
	if c, _ := sessionCookie(ctx); c != "" {
		// The catalogue page after logout starts a new session for the visit
		// counter; it must not be the logged-in one.
		if c == loggedIn {
			t.Fatalf("the session cookie survived logout")
		}
	}
	run("cart after logout", chromedp.Navigate(shop.url+"/cart"), chromedp.WaitVisible("#empty", chromedp.ByQuery))
}

// device is a second client (a phone, say) with its own cookie jar.
type device struct {
	t    *testing.T
	base string
	c    *http.Client
}

var tokenRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// otherDevice signs alice in from a plain HTTP client.
func otherDevice(t *testing.T, base string) *device {
	jar, _ := cookiejar.New(nil)
	d := &device{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	m := tokenRE.FindStringSubmatch(d.get("/login"))
	if m == nil {
		t.Fatal("no CSRF token on the login page")
	}
	resp, err := d.c.PostForm(base+"/login", url.Values{"username": {"alice"}, "password": {"wonderland"}, "csrf_token": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return d
}

func (d *device) get(path string) string {
	resp, err := d.c.Get(d.base + path)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func (d *device) signedIn() bool { return strings.Contains(d.get("/"), `id="user"`) }
