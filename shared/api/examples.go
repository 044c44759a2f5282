package api

import (
	"encoding/json"
	"strconv"

	"github.com/danielgtaylor/huma/v2"
)

// example is a request and its answer for the document, taken from the
// integrator's guide's walk-through (docs/integration.md, which runs as a
// test); a contract test validates each against the operation's schemas.
type example struct {
	summary  string
	request  string // JSON body; "" for operations without one
	status   int
	response string
}

// examples of the hot-path operations, one story: 5 % back, up to half of
// an order in points.
var examples = map[string]example{
	"start-enrollment": {"A cashier enrolls a customer by phone",
		`{"phone": "8 912 345-67-89", "consent": {"terms": true}, "profile": {"name": "Anna"}}`,
		201, `{"challengeId": "ch_7dam7zh7sssnxqanlsj3ogip.t_xub32hlfilul32mefhdtthgd", "expiresAt": "2026-03-01T10:10:00Z", "codeLength": 4}`},
	"verify-enrollment": {"The customer's code creates the member",
		`{"code": "4821"}`,
		201, `{"memberId": "m_nj4sstddkrmrtab7ftraxzf4", "cardNumber": "7756712088915492", "balance": {"available": 0, "pending": 0, "held": 0}, "referralCode": "K7M2QXP"}`},
	"get-member": {"Balance at the till", "",
		200, `{"memberId": "m_nj4sstddkrmrtab7ftraxzf4", "cardNumber": "7756712088915492", "phone": "+79123456789", "name": "Anna", "status": "active", "balance": {"available": 5000, "pending": 0, "held": 0}, "consent": {"marketing": true}, "createdAt": "2026-03-01T10:00:00Z"}`},
	"quote-order": {"What a 60.00 order may use and earn",
		`{"member": {"id": "m_nj4sstddkrmrtab7ftraxzf4"}, "total": 6000}`,
		200, `{"balance": {"available": 5000, "pending": 0, "held": 0}, "maxRedeemable": 3000, "maxRedeemPercent": "50", "accrual": {"ifNoPoints": 300, "ifMaxPoints": 150}}`},
	"redeem-points": {"Hold 30 points on a 60.00 order",
		`{"member": {"id": "m_nj4sstddkrmrtab7ftraxzf4"}, "total": 6000, "points": 3000}`,
		200, `{"held": 3000, "maxRedeemable": 3000, "balance": {"available": 2000, "pending": 0, "held": 3000}}`},
	"close-order": {"Close it: the hold is spent, 5 % accrues on the 30.00 paid in money",
		`{"member": {"id": "m_nj4sstddkrmrtab7ftraxzf4"}, "total": 6000}`,
		200, `{"accrued": 150, "redeemed": 3000, "moneyPaid": 3000, "pending": false, "balance": {"available": 2150, "pending": 0, "held": 0}}`},
	"cancel-order": {"Release a hold of 10 points", "",
		200, `{"released": 1000, "balance": {"available": 2150, "pending": 0, "held": 0}}`},
	"refund-order": {"Refund half of the money: half the points spent come back, half the cashback goes",
		`{"refundId": "R-1002-1", "amount": 1500}`,
		200, `{"refundId": "R-1002-1", "reversedAccrual": 75, "returnedPoints": 1500, "shortfall": 0, "refundedTotal": 1500, "balance": {"available": 3575, "pending": 0, "held": 0}}`},
}

// Example is an operation's documented request and answer (for tests).
type Example struct {
	OperationID string
	Request     []byte
	Status      int
	Response    []byte
}

// Examples lists the documented examples.
func Examples() []Example {
	out := make([]Example, 0, len(examples))
	for id, x := range examples {
		var req []byte
		if x.request != "" {
			req = []byte(x.request)
		}
		out = append(out, Example{OperationID: id, Request: req, Status: x.status, Response: []byte(x.response)})
	}
	return out
}

// documentExamples puts the examples into the operations' request and
// response media types.
func documentExamples(doc *huma.OpenAPI) {
	eachOperation(doc, func(o *huma.Operation) {
		x, ok := examples[o.OperationID]
		if !ok {
			return
		}
		if x.request != "" {
			setExample(o.RequestBody.Content["application/json"], x.summary, x.request)
		}
		setExample(o.Responses[strconv.Itoa(x.status)].Content["application/json"], x.summary, x.response)
	})
}

func setExample(m *huma.MediaType, summary, body string) {
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		panic("api: example is not JSON: " + err.Error())
	}
	m.Examples = map[string]*huma.Example{"walkthrough": {Summary: summary, Value: v}}
}
