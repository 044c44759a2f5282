package loyalty

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Product is one article of a tenant's catalog (seed 002: the shop's list of
// SKUs). Order lines naming a known SKU inherit its category, so program
// rules on categories apply to tills that only send SKUs.
type Product struct {
	SKU       string    `json:"sku"`
	Name      string    `json:"name"`
	Category  string    `json:"category,omitempty"`
	Price     Money     `json:"price,omitempty" minimum:"0"` // minor units; 0: not given
	UpdatedAt time.Time `json:"updatedAt"`
}

// MaxSKULength bounds a SKU (as an order line's sku).
const MaxSKULength = 128

// ValidateSKU refuses an empty, overlong or unprintable SKU.
func ValidateSKU(sku string) error {
	if sku == "" || len(sku) > MaxSKULength || !utf8.ValidString(sku) || strings.TrimSpace(sku) != sku {
		return Invalid("sku", "sku is 1-%d characters without leading or trailing spaces", MaxSKULength)
	}
	for _, r := range sku {
		if !unicode.IsPrint(r) {
			return Invalid("sku", "sku may not contain control characters")
		}
	}
	return nil
}

// ValidateProduct names the first bad field of a product.
func ValidateProduct(p *Product) error {
	if err := ValidateSKU(p.SKU); err != nil {
		return err
	}
	if strings.TrimSpace(p.Name) == "" || len(p.Name) > 200 || !utf8.ValidString(p.Name) {
		return Invalid("name", "name is required, at most 200 characters")
	}
	if p.Category != "" && !categoryName.MatchString(p.Category) {
		return Invalid("category", "category names are 1-64 letters, digits, '_', '.' or '-'")
	}
	if p.Price < 0 || p.Price > MaxMoney {
		return Invalid("price", "price must be between 0 and %d", MaxMoney)
	}
	return nil
}

// CatalogStore is what the catalog needs from persistence. Products are
// plain configuration: a write replaces the product, nothing balance-like
// depends on the version read.
type CatalogStore interface {
	PutProduct(ctx context.Context, tenantID string, p Product) error
	// PutProducts writes many products (distinct SKUs) in batches.
	PutProducts(ctx context.Context, tenantID string, ps []Product) error
	// ListProducts pages through the catalog in SKU order after `after`.
	ListProducts(ctx context.Context, tenantID, after string, limit int) ([]Product, error)
}

// Catalog manages a tenant's products.
type Catalog struct{ *Core }

func (s *Catalog) catalog() (CatalogStore, error) {
	cs, ok := s.Store.(CatalogStore)
	if !ok {
		return nil, errors.New("store does not support a catalog")
	}
	return cs, nil
}

// PutProduct creates or replaces a product.
func (s *Catalog) PutProduct(ctx context.Context, c Caller, p Product) (Product, error) {
	if err := requireAdmin(c); err != nil {
		return Product{}, err
	}
	if err := ValidateProduct(&p); err != nil {
		return Product{}, err
	}
	cs, err := s.catalog()
	if err != nil {
		return Product{}, err
	}
	p.UpdatedAt = s.now()
	if err := cs.PutProduct(ctx, c.TenantID, p); err != nil {
		return Product{}, err
	}
	return p, nil
}

// ImportProducts writes rows already validated (see ValidateProduct), each
// SKU once; a later import of the same SKU replaces the product.
func (s *Catalog) ImportProducts(ctx context.Context, c Caller, ps []Product) error {
	if err := requireAdmin(c); err != nil {
		return err
	}
	cs, err := s.catalog()
	if err != nil {
		return err
	}
	now := s.now()
	seen := make(map[string]bool, len(ps))
	for i := range ps {
		if err := ValidateProduct(&ps[i]); err != nil {
			return err
		}
		if seen[ps[i].SKU] {
			return Invalid("sku", "sku %q appears twice", ps[i].SKU)
		}
		seen[ps[i].SKU] = true
		ps[i].UpdatedAt = now
	}
	return cs.PutProducts(ctx, c.TenantID, ps)
}

// ListProducts returns up to limit products in SKU order after `after`.
func (s *Catalog) ListProducts(ctx context.Context, c Caller, after string, limit int) ([]Product, error) {
	cs, err := s.catalog()
	if err != nil {
		return nil, err
	}
	if limit < 1 || limit > 1000 {
		limit = 100
	}
	return cs.ListProducts(ctx, c.TenantID, after, limit)
}

// MaxOrderSKUs bounds the distinct SKUs an order's lines may name (the
// order's lines are at most 500).
const MaxOrderSKUs = 500

// orderSKUs lists the distinct SKUs of order lines, in order of appearance.
func orderSKUs(items []Item) []string {
	var out []string
	seen := map[string]bool{}
	for _, it := range items {
		if it.SKU != "" && !seen[it.SKU] && len(out) < MaxOrderSKUs {
			seen[it.SKU] = true
			out = append(out, it.SKU)
		}
	}
	return out
}

// withCatalog returns the lines with the catalog's category filled in where
// a line names a known SKU and sends no category of its own: the till's
// category wins, the catalog fills the gaps.
func withCatalog(items []Item, products map[string]Product) []Item {
	if len(products) == 0 {
		return items
	}
	out := make([]Item, len(items))
	for i, it := range items {
		if p, ok := products[it.SKU]; ok && it.Category == "" {
			it.Category = p.Category
		}
		out[i] = it
	}
	return out
}
