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

// lines returns the cart's rows in catalogue order, with the total.
func (c Cart) lines() ([]Line, string, int) {
	var out []Line
	total, count := 0, 0
	for _, p := range products {
		if q := c[p.SKU]; q > 0 {
			out = append(out, Line{Product: p, Qty: q, Total: money(q * p.Cents)})
			total += q * p.Cents
			count += q
		}
	}
	return out, money(total), count
}
