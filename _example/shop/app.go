package main

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/cloakroom/cloakroom/core"
	"github.com/cloakroom/cloakroom/core/csrf"
	"github.com/cloakroom/cloakroom/core/flash"
)

//go:embed templates/*.html
var templateFS embed.FS

// handler is a page: the same function serves Gin and Echo.
type handler func(w http.ResponseWriter, r *http.Request, s *core.Session)

type route struct {
	method, path string
	h            handler
}

// App is the shop: catalogue, cart, checkout, preferences, accounts.
type App struct {
	m         *core.Manager // set by newShop once the store is open
	users     *users
	bcrypt    int
	tmpl      map[string]*template.Template
	storeName string
	framework string
	log       *slog.Logger
}

// Session keys the shop uses.
const (
	keyCart     = "cart"
	keyCheckout = "checkout"
	keyOrder    = "order"
	keyVisits   = "visits"
)

// newApp builds the shop's pages; newShop then opens the store with
// a.sessionConfig() and sets a.m.
func newApp(u *users, bcryptCost int, storeName, framework string, log *slog.Logger) (*App, error) {
	a := &App{users: u, bcrypt: bcryptCost, storeName: storeName, framework: framework, log: log, tmpl: map[string]*template.Template{}}
	funcs := template.FuncMap{"money": money}
	for _, page := range []string{"catalogue", "cart", "address", "shipping", "review", "order", "login", "prefs", "password", "error"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/totals.html", "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", page, err)
		}
		a.tmpl[page] = t
	}
	return a, nil
}

func (a *App) routes() []route {
	return []route{
		{"GET", "/", a.catalogue},
		{"POST", "/cart/add", a.cartAdd},
		{"GET", "/cart", a.cart},
		{"POST", "/cart/update", a.cartUpdate},
		{"GET", "/checkout", a.checkout},
		{"GET", "/checkout/address", a.address},
		{"POST", "/checkout/address", a.address},
		{"GET", "/checkout/shipping", a.shipping},
		{"POST", "/checkout/shipping", a.shipping},
		{"GET", "/checkout/review", a.review},
		{"POST", "/checkout/place", a.place},
		{"GET", "/order", a.order},
		{"GET", "/prefs", a.prefs},
		{"POST", "/prefs", a.prefs},
		{"GET", "/login", a.login},
		{"POST", "/login", a.login},
		{"POST", "/logout", a.logout},
		{"GET", "/account/password", a.password},
		{"POST", "/account/password", a.password},
		{"GET", "/healthz", a.healthz},
	}
}

// page is what every template gets.
type page struct {
	Title, Theme, User, CSRF, Store, Framework string
	Visits, CartCount                          int
	Flashes                                    []flash.Message
	Data                                       any
}

// render counts the visit, reads the flashes and writes the page.
func (a *App) render(w http.ResponseWriter, r *http.Request, s *core.Session, status int, name, title string, data any) {
	p := page{Title: title, Store: a.storeName, Framework: a.framework, Data: data, Theme: theme(r)}
	err := core.Modify(s, keyVisits, func(n int, _ bool) (int, error) { return n + 1, nil })
	if err == nil {
		p.Visits, _, err = core.GetAs[int](s, keyVisits)
	}
	if err == nil {
		p.CSRF, err = csrf.Token(s)
	}
	if err == nil {
		p.Flashes, err = flash.Read(s)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p.User, _ = s.UserID()
	cart, _ := a.loadCart(s)
	_, _, p.CartCount = cart.lines()
	var buf strings.Builder
	if err := a.tmpl[name].Execute(&buf, p); err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

func (a *App) loadCart(s *core.Session) (Cart, error) {
	c, _, err := core.GetAs[Cart](s, keyCart)
	return c, err
}

func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (a *App) catalogue(w http.ResponseWriter, r *http.Request, s *core.Session) {
	a.render(w, r, s, 200, "catalogue", "Shop", products)
}

func (a *App) cartAdd(w http.ResponseWriter, r *http.Request, s *core.Session) {
	p, ok := productBySKU(r.PostFormValue("sku"))
	qty, err := strconv.Atoi(r.PostFormValue("qty"))
	if !ok || err != nil || qty < 1 || qty > 99 {
		_ = flash.Add(s, flash.Error, "Choose a product and a quantity from 1 to 99.")
		redirect(w, r, "/")
		return
	}
	err = core.Modify(s, keyCart, func(c Cart, _ bool) (Cart, error) {
		if c == nil {
			c = Cart{}
		}
		c[p.SKU] = min(c[p.SKU]+qty, 99)
		return c, nil
	})
	if err == nil {
		err = flash.Add(s, flash.Success, fmt.Sprintf("Added to cart: %d × %s", qty, p.Name))
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	redirect(w, r, "/cart")
}

func (a *App) cart(w http.ResponseWriter, r *http.Request, s *core.Session) {
	c, err := a.loadCart(s)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	lines, sub, count := c.lines()
	a.render(w, r, s, 200, "cart", "Your cart", map[string]any{"Lines": lines, "Subtotal": money(sub), "Count": count})
}

func (a *App) cartUpdate(w http.ResponseWriter, r *http.Request, s *core.Session) {
	sku := r.PostFormValue("sku")
	qty, err := strconv.Atoi(r.PostFormValue("qty"))
	if r.PostFormValue("remove") != "" {
		qty, err = 0, nil
	}
	if _, ok := productBySKU(sku); !ok || err != nil || qty < 0 || qty > 99 {
		_ = flash.Add(s, flash.Error, "That quantity can't be used.")
		redirect(w, r, "/cart")
		return
	}
	err = core.Modify(s, keyCart, func(c Cart, _ bool) (Cart, error) {
		if c == nil {
			c = Cart{}
		}
		if qty == 0 {
			delete(c, sku)
		} else {
			c[sku] = qty
		}
		return c, nil
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	redirect(w, r, "/cart")
}

// Checkout keeps the partial answers of the checkout form.
type Checkout struct {
	Name, Email, Address, Shipping string
}

// complete reports whether every step of the checkout was answered.
func (c Checkout) complete() bool { return c.Name != "" && c.Address != "" && c.Shipping != "" }

// Order is a placed order, kept in the session for its confirmation page.
type Order struct {
	Checkout Checkout
	Quote    Quote
}

func (a *App) loadCheckout(s *core.Session) Checkout {
	c, _, _ := core.GetAs[Checkout](s, keyCheckout)
	return c
}

// needCart sends visitors with an empty cart back to it.
func (a *App) needCart(w http.ResponseWriter, r *http.Request, s *core.Session) bool {
	c, err := a.loadCart(s)
	if _, _, n := c.lines(); err == nil && n > 0 {
		return true
	}
	_ = flash.Add(s, flash.Info, "Your cart is empty.")
	redirect(w, r, "/cart")
	return false
}

func (a *App) checkout(w http.ResponseWriter, r *http.Request, s *core.Session) {
	c := a.loadCheckout(s)
	switch {
	case c.Name == "" || c.Address == "":
		redirect(w, r, "/checkout/address")
	case c.Shipping == "":
		redirect(w, r, "/checkout/shipping")
	default:
		redirect(w, r, "/checkout/review")
	}
}

func (a *App) address(w http.ResponseWriter, r *http.Request, s *core.Session) {
	if !a.needCart(w, r, s) {
		return
	}
	c := a.loadCheckout(s)
	if r.Method == http.MethodPost {
		c.Name = strings.TrimSpace(r.PostFormValue("name"))
		c.Email = strings.TrimSpace(r.PostFormValue("email"))
		c.Address = strings.TrimSpace(r.PostFormValue("address"))
		if err := s.Set(keyCheckout, c); err != nil {
			a.fail(w, r, err)
			return
		}
		if c.Name != "" && c.Address != "" && strings.Contains(c.Email, "@") {
			redirect(w, r, "/checkout/shipping")
			return
		}
		_ = flash.Add(s, flash.Error, "Please give your name, an e-mail address and a delivery address.")
	}
	a.render(w, r, s, 200, "address", "Checkout: address", c)
}

func (a *App) shipping(w http.ResponseWriter, r *http.Request, s *core.Session) {
	if !a.needCart(w, r, s) {
		return
	}
	c := a.loadCheckout(s)
	if c.Name == "" {
		redirect(w, r, "/checkout/address")
		return
	}
	if r.Method == http.MethodPost {
		if m := r.PostFormValue("shipping"); m == "standard" || m == "express" {
			c.Shipping = m
			if err := s.Set(keyCheckout, c); err != nil {
				a.fail(w, r, err)
				return
			}
			redirect(w, r, "/checkout/review")
			return
		}
		_ = flash.Add(s, flash.Error, "Choose a shipping method.")
	}
	a.render(w, r, s, 200, "shipping", "Checkout: shipping", map[string]any{"Checkout": c, "ExpressFee": money(expressCents)})
}

func (a *App) review(w http.ResponseWriter, r *http.Request, s *core.Session) {
	if !a.needCart(w, r, s) {
		return
	}
	c := a.loadCheckout(s)
	if !c.complete() {
		redirect(w, r, "/checkout")
		return
	}
	cart, err := a.loadCart(s)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, s, 200, "review", "Checkout: review", Order{Checkout: c, Quote: quote(cart, c.Shipping)})
}

// place places the order the review page showed: the same cart, priced by
// the same quote, shipping included.
func (a *App) place(w http.ResponseWriter, r *http.Request, s *core.Session) {
	if !a.needCart(w, r, s) {
		return
	}
	c := a.loadCheckout(s)
	if !c.complete() {
		redirect(w, r, "/checkout")
		return
	}
	cart, err := a.loadCart(s)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	o := Order{Checkout: c, Quote: quote(cart, c.Shipping)}
	err = s.Set(keyOrder, o)
	if err == nil {
		err = s.Delete(keyCart)
	}
	if err == nil {
		err = s.Delete(keyCheckout)
	}
	if err == nil {
		err = flash.Add(s, flash.Success, fmt.Sprintf("Thank you, %s! Your order of %s is on its way (%s shipping).", c.Name, o.Quote.Total, c.Shipping))
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	redirect(w, r, "/order")
}

// order shows the order just placed.
func (a *App) order(w http.ResponseWriter, r *http.Request, s *core.Session) {
	o, ok, err := core.GetAs[Order](s, keyOrder)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !ok {
		redirect(w, r, "/")
		return
	}
	a.render(w, r, s, 200, "order", "Your order", o)
}

func (a *App) prefs(w http.ResponseWriter, r *http.Request, s *core.Session) {
	if r.Method == http.MethodPost {
		setTheme(w, r, r.PostFormValue("theme"))
		_ = flash.Add(s, flash.Success, "Preferences saved.")
		redirect(w, r, "/prefs")
		return
	}
	a.render(w, r, s, 200, "prefs", "Preferences", nil)
}

func (a *App) login(w http.ResponseWriter, r *http.Request, s *core.Session) {
	status := 200
	if r.Method == http.MethodPost {
		name := r.PostFormValue("username")
		if a.users.check(name, r.PostFormValue("password")) {
			// Login cycles the key (no fixation) and keeps the cart.
			err := s.Login(name)
			if err == nil {
				err = csrf.Rotate(s)
			}
			if err == nil {
				err = flash.Add(s, flash.Success, "Welcome back, "+name+".")
			}
			if err != nil {
				a.fail(w, r, err)
				return
			}
			redirect(w, r, "/cart")
			return
		}
		_ = flash.Add(s, flash.Error, "Wrong user name or password.")
		status = http.StatusUnauthorized
	}
	a.render(w, r, s, status, "login", "Sign in", demoUsers)
}

// logout flushes the session: the user, the cart, the checkout and the
// CSRF token go, on the server and in the cookie. The confirmation is a
// flash in the fresh session that follows; the theme, in a cookie of its
// own, stays.
func (a *App) logout(w http.ResponseWriter, r *http.Request, s *core.Session) {
	err := s.Flush()
	if err == nil {
		err = flash.Add(s, flash.Success, "You are signed out.")
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	redirect(w, r, "/")
}

func (a *App) password(w http.ResponseWriter, r *http.Request, s *core.Session) {
	user, ok := s.UserID()
	if !ok {
		_ = flash.Add(s, flash.Info, "Sign in first.")
		redirect(w, r, "/login")
		return
	}
	if r.Method == http.MethodPost {
		cur, next := r.PostFormValue("current"), r.PostFormValue("new")
		switch {
		case !a.users.check(user, cur):
			_ = flash.Add(s, flash.Error, "The current password is wrong.")
		case len(next) < 8:
			_ = flash.Add(s, flash.Error, "The new password needs at least 8 characters.")
		default:
			if err := a.users.setPassword(user, next, a.bcrypt); err != nil {
				a.fail(w, r, err)
				return
			}
			// Sign the user out everywhere else; this browser keeps its
			// session under a new key.
			n, err := a.m.LogoutEverywhere(r.Context(), user)
			msg := fmt.Sprintf("Password changed. %d other session(s) signed out.", max(n-1, 0))
			if errors.Is(err, core.ErrUnsupported) {
				msg = "Password changed. (This store cannot sign out other sessions.)"
			} else if err != nil {
				a.fail(w, r, err)
				return
			}
			if err := s.CycleKey(); err != nil {
				a.fail(w, r, err)
				return
			}
			_ = flash.Add(s, flash.Success, msg)
			redirect(w, r, "/account/password")
			return
		}
	}
	a.render(w, r, s, 200, "password", "Change password", nil)
}
