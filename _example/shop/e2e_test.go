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
	"strconv"
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

// layout is what checkLayout measures on the catalogue page.
type layout struct {
	// Overflows lists the elements of product cards that stick out of the
	// card's content box (right edge beyond it by more than half a pixel).
	Overflows []struct {
		Card, Element string
		By            float64
	}
	// ScrollWidth is the page's width; more than Width means the page
	// scrolls sideways.
	ScrollWidth, Width float64
}

// cardOverflowJS measures every product card: each descendant's bounding
// box against the card's content box (its box less border and padding).
const cardOverflowJS = `(() => {
	const out = {Overflows: [], ScrollWidth: document.documentElement.scrollWidth, Width: window.innerWidth};
	for (const card of document.querySelectorAll('.product')) {
		const box = card.getBoundingClientRect(), cs = getComputedStyle(card);
		const right = box.right - parseFloat(cs.borderRightWidth) - parseFloat(cs.paddingRight);
		for (const el of card.querySelectorAll('*')) {
			const r = el.getBoundingClientRect();
			if (r.width === 0 && r.height === 0) continue; // hidden inputs
			if (r.right > right + 0.5) {
				out.Overflows.push({Card: card.id, Element: el.tagName.toLowerCase() + (el.name ? '[name=' + el.name + ']' : el.className ? '.' + el.className : ''), By: r.right - right});
			}
		}
	}
	return out;
})()`

// checkLayout loads the catalogue at each width and fails when a product
// card's content sticks out of the card or the page scrolls sideways.
func checkLayout(t *testing.T, run func(string, ...chromedp.Action), url string, widths ...int64) {
	t.Helper()
	for _, width := range widths {
		var l layout
		run("layout at "+strconv.FormatInt(width, 10)+" px",
			chromedp.EmulateViewport(width, 900),
			chromedp.Navigate(url),
			chromedp.WaitVisible(".product", chromedp.ByQuery),
			chromedp.Evaluate(cardOverflowJS, &l))
		worst := 0.0
		for _, o := range l.Overflows {
			worst = max(worst, o.By)
			t.Errorf("%d px: %s in card %s sticks out by %.1f px", width, o.Element, o.Card, o.By)
		}
		if l.ScrollWidth > l.Width {
			t.Errorf("%d px: the page is %.0f px wide and scrolls sideways", width, l.ScrollWidth)
		}
		t.Logf("%d px: %d elements stick out of their card (worst %.1f px); page %.0f px wide", width, len(l.Overflows), worst, l.ScrollWidth)
	}
	run("desktop size", chromedp.EmulateViewport(1200, 900))
}

func shopJourney(t *testing.T, bin, framework string) {
	ctx := browser(t)
	shop := startShop(t, bin, "-framework", framework, "-store", "gorm", "-driver", "sqlite", "-dsn", filepath.Join(t.TempDir(), "sessions.db"))
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v\nserver log:\n%s", what, err, shop.log)
		}
	}
	text := func(sel string) string {
		t.Helper()
		var s string
		run("read "+sel, chromedp.Text(sel, &s, chromedp.ByQuery))
		return strings.TrimSpace(s)
	}
	theme := func() string {
		t.Helper()
		var s string
		run("read the theme", chromedp.Evaluate(`document.documentElement.dataset.theme`, &s))
		return s
	}
	// SHOP_SCREENSHOTS=dir writes the README's screenshots there (Gin's
	// journey only); otherwise they go to the test's temp dir.
	shots := t.TempDir()
	if dir := os.Getenv("SHOP_SCREENSHOTS"); dir != "" && framework == "gin" {
		shots = dir
	}
	screenshot := func(name string) {
		t.Helper()
		var png []byte
		run("screenshot "+name, chromedp.Screenshot("body", &png, chromedp.ByQuery)) // the page, without the blank below it
		p := filepath.Join(shots, name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s (%d bytes)", p, len(png))
	}

	// The product cards fit at phone, tablet and desktop widths.
	checkLayout(t, run, shop.url+"/", 360, 768, 1200)

	// Add two products from the catalogue.
	run("add honey",
		chromedp.Navigate(shop.url+"/"),
		chromedp.SetValue("#p-honey input[name=qty]", "2", chromedp.ByQuery),
		chromedp.Click("#p-honey button", chromedp.ByQuery),
		chromedp.WaitVisible("#cart", chromedp.ByQuery))
	run("add sencha",
		chromedp.Navigate(shop.url+"/"),
		chromedp.WaitVisible("#p-tea-sencha button", chromedp.ByQuery))
	screenshot("catalogue")
	run("add sencha",
		chromedp.Click("#p-tea-sencha button", chromedp.ByQuery),
		chromedp.WaitVisible("#cart", chromedp.ByQuery))
	if got := text("#subtotal"); got != "€34.50" {
		t.Fatalf("cart subtotal %q, want €34.50", got)
	}
	run("reload", chromedp.Reload(), chromedp.WaitVisible("#cart", chromedp.ByQuery))
	if got := text("#subtotal"); got != "€34.50" {
		t.Fatalf("after reload: %q", got)
	}
	anon, err := sessionCookie(ctx)
	if err != nil || len(anon) != 32 {
		t.Fatalf("session cookie %q, %v", anon, err)
	}

	// The server process restarts; the cart is in SQLite.
	shop.restart()
	run("cart after restart", chromedp.Navigate(shop.url+"/cart"), chromedp.WaitVisible("#cart", chromedp.ByQuery))
	if got := text("#subtotal"); got != "€34.50" {
		t.Fatalf("after a server restart: %q", got)
	}

	// Log in: the key changes, the cart stays.
	run("log in",
		chromedp.Navigate(shop.url+"/login"),
		chromedp.SendKeys("#username", "alice", chromedp.ByQuery),
		chromedp.SendKeys("#password", "wonderland", chromedp.ByQuery),
		chromedp.Click("#signin", chromedp.ByQuery),
		chromedp.WaitVisible("#cart", chromedp.ByQuery))
	if user := text("#user"); user != "alice" {
		t.Fatalf("signed in as %q", user)
	}
	loggedIn, _ := sessionCookie(ctx)
	if loggedIn == anon || len(loggedIn) != 32 {
		t.Fatalf("session cookie %q after login, was %q: the key must change", loggedIn, anon)
	}
	if got := text("#subtotal"); got != "€34.50" {
		t.Fatalf("cart after login: %q", got)
	}
	screenshot("cart")

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
		chromedp.WaitVisible(".flash.success", chromedp.ByQuery))
	if user := text("#user"); user != "alice" {
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
	if got := text("#subtotal"); got != "€34.50" {
		t.Fatalf("the forged POST changed the cart: %q", got)
	}

	// The dark theme.
	run("dark theme",
		chromedp.Navigate(shop.url+"/prefs"),
		chromedp.Click("input[name=theme][value=dark]", chromedp.ByQuery),
		chromedp.Click("form[action='/prefs'] button", chromedp.ByQuery),
		chromedp.WaitVisible(".flash.success", chromedp.ByQuery))
	if got := theme(); got != "dark" {
		t.Fatalf("theme %q after choosing dark", got)
	}

	// Check out with express shipping: the review and the placed order
	// both charge the subtotal plus the 6.00 advertised at step 2.
	run("address",
		chromedp.Navigate(shop.url+"/checkout"),
		chromedp.WaitVisible("#address", chromedp.ByQuery),
		chromedp.SendKeys("#name", "Alice Liddell", chromedp.ByQuery),
		chromedp.SendKeys("#email", "alice@example.com", chromedp.ByQuery),
		chromedp.SendKeys("#address", "1 Rabbit Hole, Oxford", chromedp.ByQuery),
		chromedp.Submit("#address", chromedp.ByQuery),
		chromedp.WaitVisible("input[name=shipping][value=express]", chromedp.ByQuery))
	var advertised string
	run("shipping",
		chromedp.Text("label:has(input[value=express])", &advertised, chromedp.ByQuery),
		chromedp.Click("input[name=shipping][value=express]", chromedp.ByQuery),
		chromedp.Click("form[action='/checkout/shipping'] button", chromedp.ByQuery),
		chromedp.WaitVisible("#review", chromedp.ByQuery))
	if !strings.Contains(advertised, "€6.00") {
		t.Errorf("express shipping is advertised as %q, want €6.00", advertised)
	}
	if sub, fee, total := text("#review #subtotal"), text("#review #shipping-fee"), text("#review #total"); sub != "€34.50" || fee != "€6.00" || total != "€40.50" {
		t.Errorf("review: subtotal %q + shipping %q = total %q; want €34.50 + €6.00 = €40.50", sub, fee, total)
	}
	screenshot("review-dark")
	run("place the order", chromedp.Click("#place", chromedp.ByQuery), chromedp.WaitVisible("#order", chromedp.ByQuery))
	if sub, fee, total := text("#order #subtotal"), text("#order #shipping-fee"), text("#order #total"); sub != "€34.50" || fee != "€6.00" || total != "€40.50" {
		t.Errorf("placed order: subtotal %q + shipping %q = total %q; want €34.50 + €6.00 = €40.50", sub, fee, total)
	}
	if method := text("#order .totals tr:last-child td"); method != "Shipping (express)" {
		t.Errorf("placed order: shipping line %q, want \"Shipping (express)\"", method)
	}
	if msg := text(".flash.success"); !strings.Contains(msg, "€40.50") {
		t.Errorf("order confirmation %q does not name the total €40.50", msg)
	}

	// Something in the cart again, then sign out: the session goes (cookie,
	// user, cart), a flash says so, and the theme stays.
	run("add biscuits",
		chromedp.Navigate(shop.url+"/"),
		chromedp.Click("#p-biscuits button", chromedp.ByQuery),
		chromedp.WaitVisible("#cart", chromedp.ByQuery))
	run("log out", chromedp.Click("#logout", chromedp.ByQuery), chromedp.WaitVisible("#login-link", chromedp.ByQuery))
	if msg := text(".flash.success"); !strings.Contains(msg, "signed out") {
		t.Errorf("no sign-out confirmation; the flash says %q", msg)
	}
	if got := theme(); got != "dark" {
		t.Errorf("theme %q after signing out, want dark (a display preference outlives the session)", got)
	}
	if c, _ := sessionCookie(ctx); c == loggedIn {
		t.Fatalf("the session cookie survived logout")
	}
	run("cart after logout", chromedp.Navigate(shop.url+"/cart"), chromedp.WaitVisible("#empty", chromedp.ByQuery))
	if got := theme(); got != "dark" {
		t.Errorf("theme %q on the next page, want dark", got)
	}
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
