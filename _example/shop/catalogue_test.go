package main

import "testing"

// The review page and the placed order price the cart with quote: express
// shipping adds the fee the shipping page advertises, standard adds none.
func TestQuote(t *testing.T) {
	cart := Cart{"honey": 2, "tea-sencha": 1} // 22.00 + 12.50
	for _, tc := range []struct{ method, fee, total string }{
		{"express", "€6.00", "€40.50"},
		{"standard", "€0.00", "€34.50"},
	} {
		q := quote(cart, tc.method)
		if q.Subtotal != "€34.50" || q.Fee != tc.fee || q.Total != tc.total || q.TotalCents != q.SubtotalCents+shippingCents(tc.method) || len(q.Lines) != 2 {
			t.Errorf("%s: %+v; want €34.50 + %s = %s", tc.method, q, tc.fee, tc.total)
		}
	}
	if money(expressCents) != "€6.00" {
		t.Errorf("express shipping costs %s", money(expressCents))
	}
}
