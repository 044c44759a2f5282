package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/routes"
	"github.com/loyalty/cashback/shared/wallet"
)

// MemberView is a member's card as a cashier sees it.
type MemberView struct {
	MemberID   string               `json:"memberId"`
	CardNumber string               `json:"cardNumber"`
	Phone      string               `json:"phone" doc:"E.164"`
	Email      string               `json:"email,omitempty"`
	Name       string               `json:"name,omitempty"`
	Status     loyalty.MemberStatus `json:"status" enum:"active,blocked"`
	Tier       string               `json:"tier,omitempty"`
	Balance    loyalty.Balance      `json:"balance"`
	CreatedAt  time.Time            `json:"createdAt"`
	Stamps     map[string]int       `json:"stamps,omitempty" doc:"Stamp card progress per promotion id: units counted towards the next gift"`
	// ReferralCode is shown by GET /v1/members/{memberId}.
	ReferralCode string                 `json:"referralCode,omitempty" doc:"The member's personal code to bring friends (the program's referral rewards)"`
	Referral     *loyalty.ReferralState `json:"referral,omitempty" doc:"Who referred the member and where the reward stands"`
	// Consent is what the member agreed to (marketing: campaigns and
	// reminders; changed on the card page, by an unsubscribe link or STOP).
	Consent MemberConsent `json:"consent"`
	// Wallets is shown by GET /v1/members/{memberId} only.
	Wallets *wallet.Wallets `json:"wallets,omitempty" doc:"The member's card in phone wallets: Apple devices registered for updates, saved in Google Wallet"`
}

func memberView(a *loyalty.Account) MemberView {
	return MemberView{MemberID: a.MemberID, CardNumber: a.Card, Phone: a.Phone, Email: a.Email, Name: a.Name,
		Status: a.Status, Tier: a.Tier, Balance: a.Balance(), CreatedAt: a.CreatedAt, Stamps: a.Stamps,
		ReferralCode: a.ReferralCode, Referral: a.Referral,
		Consent: MemberConsent{Marketing: a.Marketing}}
}

// MemberConsent is a member's consent to marketing messages.
type MemberConsent struct {
	Marketing bool `json:"marketing" doc:"Agreed to campaigns and reminders (SMS, email, wallet push)"`
}

type MemberPath struct {
	MemberID string `path:"memberId" pattern:"^m_[a-z0-9]{1,64}$"`
}

type MemberOutput struct {
	Body MemberView
}

func (s *server) registerGetMember(r routes.Route) {
	o := op(r, "Read a member and balance (one read)", "members")
	huma.Register(s.api, o, func(ctx context.Context, in *MemberPath) (*MemberOutput, error) {
		// The wallets are read alongside the account, not after it.
		type walletsRead struct {
			w   wallet.Wallets
			err error
		}
		var wallets chan walletsRead
		if s.deps.WalletStates != nil {
			wallets = make(chan walletsRead, 1)
			go func() {
				w, err := s.deps.WalletStates.WalletsOf(ctx, callerOf(ctx).TenantID, in.MemberID)
				wallets <- walletsRead{w, err}
			}()
		}
		a, err := s.deps.Members.GetMember(ctx, callerOf(ctx), in.MemberID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		v := memberView(a)
		if wallets != nil {
			r := <-wallets
			if r.err != nil {
				return nil, s.problem(ctx, r.err)
			}
			v.Wallets = &r.w
		}
		return &MemberOutput{v}, nil
	})
}

type FindMemberInput struct {
	Phone string `query:"phone" maxLength:"32" doc:"Phone in any common form"`
	Card  string `query:"card" maxLength:"19" pattern:"^[0-9]*$"`
}

func (s *server) registerFindMember(r routes.Route) {
	o := op(r, "Find a member by phone or card", "members")
	huma.Register(s.api, o, func(ctx context.Context, in *FindMemberInput) (*MemberOutput, error) {
		ref := loyalty.MemberRef{Card: in.Card}
		if err := loyalty.CheckCardRef("card", in.Card); err != nil {
			return nil, s.problem(ctx, err)
		}
		switch {
		case (in.Phone == "") == (in.Card == ""):
			return nil, s.problem(ctx, loyalty.Invalid("phone", "give exactly one of phone or card"))
		case in.Phone != "":
			e164, err := normalizePhone(s.deps.Phones, "phone", in.Phone)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			ref = loyalty.MemberRef{Phone: e164}
		}
		a, err := s.deps.Members.FindMember(ctx, callerOf(ctx), ref)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &MemberOutput{memberView(a)}, nil
	})
}

type LedgerInput struct {
	MemberPath
	Limit int `query:"limit" minimum:"1" maximum:"200" default:"50"`
	// A ledger seq: 1 to 18 digits without a leading zero, always an int64
	// (a longer cursor once overflowed into 0, the first page, and a paging
	// client looped).
	Cursor string `query:"cursor" minLength:"1" maxLength:"18" pattern:"^[1-9][0-9]{0,17}$" doc:"nextCursor of the previous page"`
}

// EntryView is one ledger entry.
type EntryView struct {
	Seq       int64             `json:"seq" minimum:"1"`
	Kind      loyalty.EntryKind `json:"kind" enum:"welcome,redeem,release,capture,accrue,refund,expire,mature,adjust"`
	Amount    int64             `json:"amount" doc:"Change of available + pending points (hundredths)"`
	Available int64             `json:"available" doc:"Change of available points"`
	Pending   int64             `json:"pending" doc:"Change of pending points"`
	Held      int64             `json:"held" doc:"Change of held points"`
	OrderID   string            `json:"orderId,omitempty"`
	RefundID  string            `json:"refundId,omitempty"`
	Lots      map[string]int64  `json:"lots,omitempty"`
	Note      string            `json:"note,omitempty"`
	KeyID     string            `json:"keyId,omitempty" doc:"API key that made the change"`
	StaffID   string            `json:"staffId,omitempty" doc:"Staff member that made the change"`
	POS       string            `json:"pointOfSaleId,omitempty" doc:"Point of sale it happened at"`
	At        time.Time         `json:"at"`
	Hash      string            `json:"hash"`
	Stamps    map[string]int    `json:"stamps,omitempty" doc:"Stamp card units counted (+) or reversed (-) per promotion id"`
}

type LedgerOutput struct {
	Body struct {
		Entries    []EntryView `json:"entries"`
		NextCursor string      `json:"nextCursor,omitempty"`
	}
}

func (s *server) registerLedger(r routes.Route) {
	o := op(r, "A member's ledger, newest first", "members")
	huma.Register(s.api, o, func(ctx context.Context, in *LedgerInput) (*LedgerOutput, error) {
		var before int64
		if in.Cursor != "" {
			var err error
			if before, err = strconv.ParseInt(in.Cursor, 10, 64); err != nil || before < 1 {
				// Unreachable past the pattern; never read as "from the start".
				return nil, huma.NewError(http.StatusUnprocessableEntity, "validation failed",
					&huma.ErrorDetail{Location: "query.cursor", Message: "not a cursor this API gave"})
			}
		}
		limit := in.Limit
		if limit == 0 {
			limit = 50
		}
		entries, err := s.deps.Members.Ledger(ctx, callerOf(ctx), in.MemberID, limit, before)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &LedgerOutput{}
		out.Body.Entries = make([]EntryView, 0, len(entries))
		for _, e := range entries {
			v := EntryView{Seq: e.Seq, Kind: e.Kind, Amount: int64(e.Amount), Available: int64(e.Available), Pending: int64(e.Pending),
				Held: int64(e.Held), OrderID: e.OrderID, RefundID: e.RefundID, Note: e.Note, At: e.At, Hash: e.Hash,
				KeyID: e.KeyID, StaffID: e.StaffID, POS: e.PointOfSale, Stamps: e.Stamps}
			if len(e.Lots) > 0 {
				v.Lots = map[string]int64{}
				for id, n := range e.Lots {
					v.Lots[id] = int64(n)
				}
			}
			out.Body.Entries = append(out.Body.Entries, v)
		}
		if len(entries) == limit && entries[len(entries)-1].Seq > 1 {
			out.Body.NextCursor = strconv.FormatInt(entries[len(entries)-1].Seq, 10)
		}
		return out, nil
	})
}

type SetGroupsInput struct {
	MemberPath
	Body struct {
		Groups []GroupName `json:"groups" maxItems:"50" doc:"Customer groups; tiers restricted to a group apply to its members"`
	}
}

func (s *server) registerSetGroups(r routes.Route) {
	o := op(r, "Set a member's customer groups", "members")
	huma.Register(s.api, o, func(ctx context.Context, in *SetGroupsInput) (*MemberOutput, error) {
		if err := requireRole(ctx, loyalty.RoleAdmin); err != nil {
			return nil, err
		}
		groups := make([]string, len(in.Body.Groups)) // each 1-64 characters: the schema checked
		for i, g := range in.Body.Groups {
			groups[i] = string(g)
		}
		a, err := s.deps.Members.SetGroups(ctx, callerOf(ctx), in.MemberID, groups)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &MemberOutput{memberView(a)}, nil
	})
}

type AdjustInput struct {
	MemberPath
	IdemRequired
	RawBody []byte
	Body    struct {
		Points PointsChange `json:"points" doc:"Points (hundredths) to credit (positive) or debit (negative)"`
		Reason string       `json:"reason" minLength:"1" maxLength:"500" doc:"Why: kept in the ledger and the audit trail"`
	}
}

func (s *server) registerAdjust(r routes.Route) {
	o := op(r, "Credit or debit a member by hand (a compensating ledger entry, never an edit)", "members")
	registerWrite(s, o, func(ctx context.Context, in *AdjustInput) (res loyalty.AdjustResult, replayed bool, err error) {
		idem := idemOf(in.IdempotencyKey, r.OperationID, []string{in.MemberID}, in.RawBody)
		return s.deps.Members.AdjustPoints(ctx, callerOf(ctx), idem, in.MemberID,
			loyalty.AdjustRequest{Points: loyalty.Points(in.Body.Points), Reason: in.Body.Reason})
	})
}

func (s *server) registerBlock(blocked bool) func(routes.Route) {
	return func(r routes.Route) {
		summary := "Unblock a member's card"
		if blocked {
			summary = "Block a member's card: it neither earns nor spends"
		}
		huma.Register(s.api, op(r, summary, "members"), func(ctx context.Context, in *MemberPath) (*MemberOutput, error) {
			a, err := s.deps.Members.SetBlocked(ctx, callerOf(ctx), in.MemberID, blocked)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return &MemberOutput{memberView(a)}, nil
		})
	}
}

// ReplaceCardInput optionally names the physical card handed out.
type ReplaceCardInput struct {
	MemberPath
	Body *struct {
		Number string `json:"number,omitempty" maxLength:"19" pattern:"^[0-9]*$" doc:"The number of the physical card the cashier hands out; checked against the program's card rule (an imported card is bound to the member, once). Absent: a number is drawn under the rule."`
	} `required:"false"`
}

func (s *server) registerReplaceCard(r routes.Route) {
	o := op(r, "Issue a new card number for a lost card, keeping the balance", "members")
	o.Description = "The old number stops finding the member at once. With `number`, the member gets that physical card: under a card pool (`cardNumbers.mode: imported`) it must be an imported, unbound number (`card_not_in_pool`, `card_taken`)."
	huma.Register(s.api, o, func(ctx context.Context, in *ReplaceCardInput) (*MemberOutput, error) {
		number := ""
		if in.Body != nil {
			number = in.Body.Number
		}
		a, err := s.deps.Members.ReplaceCard(ctx, callerOf(ctx), in.MemberID, number)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &MemberOutput{memberView(a)}, nil
	})
}

type BulkAccrueInput struct {
	Body struct {
		BatchID string `json:"batchId" minLength:"1" maxLength:"128" doc:"Names the batch: running it again, or resuming it, credits each member once"`
		Points  Points `json:"points" minimum:"1" doc:"Points (hundredths) for each selected member"`
		Reason  string `json:"reason" minLength:"1" maxLength:"500"`
		Filter  struct {
			Period    string `json:"period,omitempty" maxLength:"32" doc:"Trailing period of the spend, ISO 8601, at most P92D"`
			SpendFrom Money  `json:"spendFrom,omitempty" doc:"Least money spent in the period"`
			SpendTo   Money  `json:"spendTo,omitempty" doc:"Most money spent in the period (0: no bound)"`
			Group     string `json:"group,omitempty" maxLength:"64" doc:"Only members of this customer group"`
		} `json:"filter,omitempty"`
		Cursor string `json:"cursor,omitempty" maxLength:"64" doc:"nextCursor of the previous page"`
		Limit  int    `json:"limit,omitempty" minimum:"0" maximum:"200"`
	}
}

// BulkFilterBody selects members for a bulk accrual or its preview.
type BulkFilterBody struct {
	Period    string `json:"period,omitempty" maxLength:"32" doc:"Trailing period of the spend, ISO 8601, at most P92D"`
	SpendFrom Money  `json:"spendFrom,omitempty" doc:"Least money spent in the period"`
	SpendTo   Money  `json:"spendTo,omitempty" doc:"Most money spent in the period (0: no bound)"`
	Group     string `json:"group,omitempty" maxLength:"64" doc:"Only members of this customer group"`
}

type BulkPreviewInput struct {
	Body struct {
		Filter BulkFilterBody `json:"filter,omitempty"`
		Cursor string         `json:"cursor,omitempty" maxLength:"64" doc:"nextCursor of the previous page"`
		Limit  int            `json:"limit,omitempty" minimum:"0" maximum:"200"`
	}
}

type BulkPreviewOutput struct {
	Body loyalty.BulkPreview
}

func (s *server) registerBulkPreview(r routes.Route) {
	o := op(r, "Count, without writing, the members a bulk accrual's filter selects, a page at a time", "members")
	huma.Register(s.api, o, func(ctx context.Context, in *BulkPreviewInput) (*BulkPreviewOutput, error) {
		f := in.Body.Filter
		res, err := s.deps.Members.PreviewBulk(ctx, callerOf(ctx), loyalty.BulkFilter{Period: f.Period,
			SpendFrom: loyalty.Money(f.SpendFrom), SpendTo: loyalty.Money(f.SpendTo), Group: f.Group}, in.Body.Cursor, in.Body.Limit)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &BulkPreviewOutput{res}, nil
	})
}

type BulkAccrueOutput struct {
	Body loyalty.BulkResult
}

func (s *server) registerBulkAccrue(r routes.Route) {
	o := op(r, "Credit points to a selection of members, a page at a time (idempotent per batch, resumable)", "members")
	huma.Register(s.api, o, func(ctx context.Context, in *BulkAccrueInput) (*BulkAccrueOutput, error) {
		b := in.Body
		res, err := s.deps.Members.BulkAccrue(ctx, callerOf(ctx), loyalty.BulkRequest{BatchID: b.BatchID, Points: loyalty.Points(b.Points),
			Reason: b.Reason, Cursor: b.Cursor, Limit: b.Limit,
			Filter: loyalty.BulkFilter{Period: b.Filter.Period, SpendFrom: loyalty.Money(b.Filter.SpendFrom), SpendTo: loyalty.Money(b.Filter.SpendTo), Group: b.Filter.Group}})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &BulkAccrueOutput{res}, nil
	})
}

type SetTierInput struct {
	MemberPath
	Body struct {
		Tier string `json:"tier" maxLength:"100" doc:"A tier of the current program; empty returns to the tier activity earns"`
	}
}

func (s *server) registerSetTier(r routes.Route) {
	o := op(r, "Set a member's tier by hand", "members")
	huma.Register(s.api, o, func(ctx context.Context, in *SetTierInput) (*MemberOutput, error) {
		a, err := s.deps.Members.SetTier(ctx, callerOf(ctx), in.MemberID, in.Body.Tier)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &MemberOutput{memberView(a)}, nil
	})
}

type SearchInput struct {
	Q     string `query:"q" minLength:"2" maxLength:"100" doc:"Part of a name, phone or card number"`
	Limit int    `query:"limit" minimum:"1" maximum:"100" default:"20"`
}

type SearchOutput struct {
	Body struct {
		Members []loyalty.MemberSummary `json:"members"`
	}
}

func (s *server) registerSearch(r routes.Route) {
	o := op(r, "Search members by name, phone or card (back office)", "members")
	huma.Register(s.api, o, func(ctx context.Context, in *SearchInput) (*SearchOutput, error) {
		limit := in.Limit
		if limit == 0 {
			limit = 20
		}
		found, err := s.deps.Members.SearchMembers(ctx, callerOf(ctx), in.Q, limit)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &SearchOutput{}
		out.Body.Members = append([]loyalty.MemberSummary{}, found...)
		return out, nil
	})
}

type CodeWordInput struct {
	MemberPath
	Body struct {
		CodeWord string `json:"codeWord" maxLength:"64" doc:"The word the card holder gives to be identified; empty clears it. Only a hash is kept."`
	}
}

func (s *server) registerSetCodeWord(r routes.Route) {
	o := op(r, "Set a member's code word", "members")
	huma.Register(s.api, o, func(ctx context.Context, in *CodeWordInput) (*MemberOutput, error) {
		a, err := s.deps.Members.SetCodeWord(ctx, callerOf(ctx), in.MemberID, in.Body.CodeWord)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &MemberOutput{memberView(a)}, nil
	})
}

type IdentifyInput struct {
	Body struct {
		Member   MemberRef `json:"member"`
		CodeWord string    `json:"codeWord" minLength:"1" maxLength:"64"`
	}
}

func (s *server) registerIdentify(r routes.Route) {
	o := op(r, "Identify a card holder by card or phone and code word", "members")
	huma.Register(s.api, o, func(ctx context.Context, in *IdentifyInput) (*MemberOutput, error) {
		ref, err := in.Body.Member.domain(s.deps.Phones)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		a, err := s.deps.Members.Identify(ctx, callerOf(ctx), ref, in.Body.CodeWord)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &MemberOutput{memberView(a)}, nil
	})
}
