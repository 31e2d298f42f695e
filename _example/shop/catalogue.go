package main

import "fmt"

// Product is one item of the demo catalogue.
type Product struct {
	SKU, Name, Blurb, Color string
	Cents                   int
}

// Initial is the letter on the product's badge.
func (p Product) Initial() string { return p.Name[:1] }

// Price formats the product's price.
func (p Product) Price() string { return money(p.Cents) }

func money(cents int) string { return fmt.Sprintf("€%d.%02d", cents/100, cents%100) }

var products = []Product{
	{"tea-sencha", "Sencha green tea", "Grassy, bright, first flush. 100 g.", "#7fa66b", 1250},
	{"tea-assam", "Assam breakfast", "Malty black tea that takes milk. 250 g.", "#8a5a3b", 990},
	{"cup-celadon", "Celadon cup", "Hand-thrown stoneware, 180 ml.", "#88b5a8", 2400},
	{"pot-cast", "Cast-iron teapot", "Enamelled inside, 800 ml.", "#4b4f57", 5900},
	{"honey", "Mountain honey", "Raw wildflower honey. 350 g.", "#d9a441", 1100},
	{"biscuits", "Shortbread tin", "Butter shortbread, 24 pieces.", "#c58b52", 750},
}

func productBySKU(sku string) (Product, bool) {
	for _, p := range products {
		if p.SKU == sku {
			return p, true
		}
	}
	return Product{}, false
}

// Cart maps SKUs to quantities; it is what the session keeps.
type Cart map[string]int

// Line is a cart row for display.
type Line struct {
	Product
	Qty   int
	Total string
}

// lines returns the cart's rows in catalogue order, with the sum of their
// prices in cents and the number of items.
func (c Cart) lines() (lines []Line, cents, count int) {
	for _, p := range products {
		if q := c[p.SKU]; q > 0 {
			lines = append(lines, Line{Product: p, Qty: q, Total: money(q * p.Cents)})
			cents += q * p.Cents
			count += q
		}
	}
	return lines, cents, count
}

// expressCents is the express shipping fee; standard shipping is free. The
// shipping page advertises it and quote charges it, from this one constant.
const expressCents = 600

// shippingCents is the fee of a shipping method.
func shippingCents(method string) int {
	if method == "express" {
		return expressCents
	}
	return 0
}

// Quote is what an order costs: the review page shows it and the placed
// order keeps it, so the two cannot disagree.
type Quote struct {
	Lines                     []Line
	Shipping                  string // the method
	Subtotal, Fee, Total      string
	SubtotalCents, TotalCents int
}

// quote prices the cart with the shipping method.
func quote(c Cart, shipping string) Quote {
	lines, sub, _ := c.lines()
	fee := shippingCents(shipping)
	return Quote{Lines: lines, Shipping: shipping, Subtotal: money(sub), Fee: money(fee), Total: money(sub + fee),
		SubtotalCents: sub, TotalCents: sub + fee}
}
