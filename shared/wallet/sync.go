package wallet

import (
	"context"
	"crypto/sha256"
	"errors"

	"github.com/loyalty/cashback/shared/feed"
)

// Sync is the wallet-sync consumer of the event feed: for every member
// with an Apple pass that an event of the batch concerns, it moves the
// pass's update tag forward once and pushes once to each registered device
// (a burst of events for one member in a batch is one push per device). A
// dead token (APNs 410 / Unregistered) loses its registration.
type Sync struct {
	Service *Service
}

var _ feed.Sink = (*Sync)(nil)

type memberKey struct{ tenant, member string }

// Consume handles one batch. A redelivered batch changes nothing: the pass
// remembers the highest ledger seq its tag reflects. Push failures other
// than a dead token are logged, not returned: the tag has moved, so a
// retried batch would not push again, and failing the batch would stall
// the shard for the webhooks and every other consumer.
func (s *Sync) Consume(ctx context.Context, events []feed.Event) error {
	var order []memberKey
	changes := map[memberKey]*change{}
	for _, e := range events {
		if e.TenantID == "" || e.MemberID == "" {
			continue
		}
		k := memberKey{e.TenantID, e.MemberID}
		c := changes[k]
		if c == nil {
			c = &change{}
			changes[k] = c
			order = append(order, k)
		}
		c.maxSeq = max(c.maxSeq, e.Seq)
		c.unsequenced = c.unsequenced || e.Seq == 0
	}
	for _, k := range order {
		if err := s.member(ctx, k, *changes[k]); err != nil {
			return err
		}
	}
	return nil
}

// change sums up a batch's events of one member.
type change struct {
	maxSeq int64
	// unsequenced: an event without a ledger seq (a member change such as
	// a block): nothing tells whether the pass reflects it, so it updates.
	unsequenced bool
}

// member updates one member's wallets.
func (s *Sync) member(ctx context.Context, k memberKey, c change) error {
	st, err := s.Service.Store.WalletState(ctx, k.tenant, k.member)
	if err != nil {
		return err
	}
	if st.Apple != nil {
		if err := s.apple(ctx, k, c, st); err != nil {
			return err
		}
	}
	if st.Google != nil && st.Google.Saved {
		return s.google(ctx, k, c, st.Google)
	}
	return nil
}

// notifyingPerDay is Google's limit of notifying updates per pass.
const notifyingPerDay = 3

// google patches the member's saved Google Wallet object once for the
// batch: notifying while the pass has had fewer than 3 notifying updates
// in the last 24 hours, plain beyond (Google refuses more). A failed update
// is logged: the next change sends the then current balance anyway.
func (s *Sync) google(ctx context.Context, k memberKey, c change, g *GoogleState) error {
	svc := s.Service
	if svc.Google == nil || !svc.Keys.Google() || !c.unsequenced && c.maxSeq <= g.LastSeq {
		return nil
	}
	st, err := svc.Members.LoadMember(ctx, k.tenant, k.member)
	if err != nil {
		return err
	}
	t, err := svc.Members.GetTenant(ctx, k.tenant)
	if err != nil {
		return err
	}
	now := svc.now()
	var recent []int64
	for _, at := range g.NotifiedAt {
		if now.Unix()-at < 24*60*60 {
			recent = append(recent, at)
		}
	}
	notify := len(recent) < notifyingPerDay
	if err := svc.Google.UpdateObject(ctx, ObjectID(svc.Keys.GoogleIssuerID, k.tenant, k.member), CardOf(t.Name, st, now), notify); err != nil {
		svc.logger().WarnContext(ctx, "wallet: google object update failed", "tenant", k.tenant, "error", err.Error())
		return nil
	}
	if notify {
		recent = append(recent, now.Unix())
	}
	if _, err := svc.Store.RecordGoogleUpdate(ctx, k.tenant, k.member, g.Updates, recent, max(c.maxSeq, g.LastSeq)); err != nil {
		return err
	}
	return nil
}

// apple moves the member's pass tag and pushes to its devices.
func (s *Sync) apple(ctx context.Context, k memberKey, c change, st State) error {
	svc := s.Service
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			var err error
			if st, err = svc.Store.WalletState(ctx, k.tenant, k.member); err != nil {
				return err
			}
		}
		p := st.Apple
		if p == nil {
			return nil // no pass: nothing to update
		}
		if !c.unsequenced && c.maxSeq <= p.LastSeq {
			return nil // already reflected (a redelivered batch)
		}
		tag := max(p.Tag+1, svc.now().Unix())
		ok, err := svc.Store.TouchApplePass(ctx, k.tenant, k.member, p.Tag, tag, max(c.maxSeq, p.LastSeq))
		if err != nil {
			return err
		}
		if !ok {
			if attempt < 3 {
				continue // a concurrent update moved the tag: reread
			}
			return errors.New("wallet: pass tag keeps changing")
		}
		s.push(ctx, k.tenant, st.Devices)
		return nil
	}
}

func (s *Sync) push(ctx context.Context, tenantID string, devices []Registration) {
	svc := s.Service
	pusher, err := svc.pusherFor(ctx, tenantID)
	if err != nil {
		// The tag has moved: the device fetches the pass at its next
		// check; the batch is not failed for it (see Consume).
		svc.logger().WarnContext(ctx, "wallet: no pusher for the tenant", "tenant", tenantID, "error", err.Error())
		return
	}
	if pusher == nil {
		return
	}
	seen := map[string]bool{}
	for _, r := range devices {
		if seen[r.PushToken] { // one push per token, even registered twice
			continue
		}
		seen[r.PushToken] = true
		err := pusher.Push(ctx, r.PushToken, r.PassTypeID)
		switch {
		case errors.Is(err, ErrUnregistered):
			if err := svc.Store.Unregister(ctx, r); err != nil {
				svc.logger().ErrorContext(ctx, "wallet: drop dead registration", "error", err.Error())
			}
		case err != nil:
			svc.logger().WarnContext(ctx, "wallet: push failed", "tenant", r.TenantID, "error", err.Error())
		}
	}
}

// pusherFor is the APNs client for a tenant's passes: one authenticating
// with the tenant's own certificate when it has one and the service makes
// such clients (TenantPusher), else the service's.
func (svc *Service) pusherFor(ctx context.Context, tenantID string) (Pusher, error) {
	if svc.TenantPusher == nil || !svc.Keys.Apple() {
		return svc.Pusher, nil
	}
	k, err := svc.KeysFor(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if !k.Own() {
		return svc.Pusher, nil
	}
	pk := pusherKey{svc.Keys, sha256.Sum256(k.Signer.Raw)}
	if p, ok := tenantPushers.Load(pk); ok {
		return p.(Pusher), nil
	}
	p, _ := tenantPushers.LoadOrStore(pk, svc.TenantPusher(k))
	return p.(Pusher), nil
}

type pusherKey struct {
	service     *Keys
	fingerprint [32]byte
}
