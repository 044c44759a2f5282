package client

// Offers is what coupons and gift promotions did on an order (quote and
// close answer them alike).
type Offers struct {
	Coupons           []CouponResult    `json:"coupons,omitempty"`
	CouponDiscount    int64             `json:"couponDiscount,omitempty"`
	Promotions        []PromotionResult `json:"promotions,omitempty"`
	Items             []LineResult      `json:"items,omitempty"`
	PromotionDiscount int64             `json:"promotionDiscount,omitempty"`
}

// CouponResult says what a coupon did, or the problem code keeping it off.
type CouponResult struct {
	Code     string `json:"code"`
	Applied  bool   `json:"applied"`
	Discount int64  `json:"discount,omitempty"`
	Points   int64  `json:"points,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// PromotionResult says what a gift promotion did on an order.
type PromotionResult struct {
	PromotionID string `json:"promotionId"`
	FreeUnits   int    `json:"freeUnits"`
	Discount    int64  `json:"discount"`
	Stamps      int    `json:"stamps,omitempty"`
	StampsAfter *int   `json:"stampsAfter,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// LineResult says which promotions discounted an order line (Line is its
// index in the request's items).
type LineResult struct {
	Line     int      `json:"line"`
	SKU      string   `json:"sku"`
	Applied  []string `json:"applied"`
	Discount int64    `json:"discount"`
}

// ProductRules restrict which order lines earn and which may be paid with points.
type ProductRules struct {
	Accrual    *ProductFilter `json:"accrual,omitempty"`
	Redemption *ProductFilter `json:"redemption,omitempty"`
	// Discount: for discount programs, the lines the discount is given on
	// and counted towards its threshold.
	Discount *ProductFilter `json:"discount,omitempty"`
}

// ProductFilter covers lines of the SKUs or categories listed (none: all),
// never the excluded ones.
type ProductFilter struct {
	SKUs              []string `json:"skus,omitempty"`
	Categories        []string `json:"categories,omitempty"`
	ExcludeSKUs       []string `json:"excludeSkus,omitempty"`
	ExcludeCategories []string `json:"excludeCategories,omitempty"`
}
