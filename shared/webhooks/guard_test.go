package webhooks_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/loyalty/cashback/shared/feed"
	"github.com/loyalty/cashback/shared/loyalty"
	"github.com/loyalty/cashback/shared/webhooks"
)

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, x := range s {
		out = append(out, netip.MustParseAddr(x))
	}
	return out
}

// Registration refuses what a delivery could abuse: non-https URLs (http
// only to loopback, only locally), credentials, and hosts resolving to any
// private, loopback, link-local, metadata, CGNAT, ULA or other reserved
// address. Every check names the field.
func TestCheckURL(t *testing.T) {
	t.Parallel()
	r := resolver{
		"public.example":     addrs("93.184.215.14"),
		"public6.example":    addrs("2606:2800:21f:cb07:6820:80da:af6b:8b2c"),
		"private.example":    addrs("10.1.2.3"),
		"mixed.example":      addrs("93.184.215.14", "192.168.1.1"),
		"metadata.example":   addrs("169.254.169.254"),
		"cgnat.example":      addrs("100.64.0.1"),
		"ula.example":        addrs("fd00:ec2::254"),
		"mapped.example":     addrs("::ffff:127.0.0.1"),
		"loop.example":       addrs("127.0.0.1"),
		"linklocal6.example": addrs("fe80::1"),
		"nat64.example":      addrs("64:ff9b::a01:203"),
	}
	cloud := &webhooks.Guard{Resolver: r}
	local := &webhooks.Guard{Resolver: r, Local: true}
	cases := []struct {
		g    *webhooks.Guard
		url  string
		okay bool
	}{
		{cloud, "https://public.example/hooks", true},
		{cloud, "https://public6.example:8443/hooks?x=1", true},
		{cloud, "http://public.example/hooks", false},
		{cloud, "ftp://public.example/hooks", false},
		{cloud, "https://user:pw@public.example/hooks", false},
		{cloud, "/relative", false},
		{cloud, "https://private.example/", false},
		{cloud, "https://mixed.example/", false},
		{cloud, "https://metadata.example/", false},
		{cloud, "https://169.254.169.254/latest/meta-data", false},
		{cloud, "https://[fd00:ec2::254]/", false},
		{cloud, "https://cgnat.example/", false},
		{cloud, "https://ula.example/", false},
		{cloud, "https://mapped.example/", false},
		{cloud, "https://loop.example/", false},
		{cloud, "https://127.0.0.1:8080/", false},
		{cloud, "https://[::1]/", false},
		{cloud, "https://linklocal6.example/", false},
		{cloud, "https://nat64.example/", false},
		{cloud, "https://nowhere.example/", false},
		{cloud, "https://0.0.0.0/", false},
		{local, "http://127.0.0.1:8080/hook", true},
		{local, "http://loop.example:9000/hook", true},
		{local, "http://public.example/hook", false},
		{local, "https://private.example/", false},
		{local, "http://169.254.169.254/", false},
	}
	for _, c := range cases {
		err := c.g.CheckURL(context.Background(), c.url)
		if c.okay != (err == nil) {
			t.Errorf("local=%v %s: %v", c.g.Local, c.url, err)
		}
		var le *loyalty.Error
		if err != nil && (!errorsAs(err, &le) || le.Field != "url" || le.Code != loyalty.CodeValidationFailed) {
			t.Errorf("%s: error %v does not name the url field", c.url, err)
		}
	}
}

func errorsAs(err error, le **loyalty.Error) bool {
	e, ok := err.(*loyalty.Error)
	*le = e
	return ok
}

// flipResolver answers the public address first and a private one after:
// DNS rebinding between registration and delivery.
type flipResolver struct{ n atomic.Int64 }

func (f *flipResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	if f.n.Add(1) == 1 {
		return addrs("93.184.215.14"), nil
	}
	return addrs("10.0.0.8"), nil
}

// loopDialer stands in for the internet: it records the address asked for
// and connects to a loopback test server instead.
type loopDialer struct {
	to    string
	mu    sync.Mutex
	asked []string
}

func (d *loopDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d.mu.Lock()
	d.asked = append(d.asked, address)
	d.mu.Unlock()
	return (&net.Dialer{}).DialContext(ctx, network, d.to)
}

// In the cloud, a delivery resolves the host again, checks the addresses
// again and connects by the checked address (TLS still verified for the
// host name); a host that now resolves to a private address is not
// connected to at all.
func TestDeliveryConnectsToCheckedAddress(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(204)
	}))
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())

	e := newEnv(t, false)
	dialer := &loopDialer{to: srv.Listener.Addr().String()}
	e.svc.Guard = &webhooks.Guard{Resolver: resolver{"example.com": addrs("93.184.215.14")}, Dialer: dialer}
	e.svc.Client, e.svc.TLS = nil, &tls.Config{RootCAs: pool}
	webhooks.New(e.svc)
	e.create("https://example.com/hook")
	e.consume(event("t1", "m1", 1, e.clock.Now()))
	e.queue.drain(t, e.svc)
	if hits.Load() != 1 {
		t.Fatalf("%d deliveries", hits.Load())
	}
	if len(dialer.asked) != 1 || dialer.asked[0] != "93.184.215.14:443" {
		t.Fatalf("dialed %v, want the checked address", dialer.asked)
	}

	// Rebinding: public at registration, private at delivery.
	e2 := newEnv(t, false)
	dialer2 := &loopDialer{to: srv.Listener.Addr().String()}
	e2.svc.Guard = &webhooks.Guard{Resolver: &flipResolver{}, Dialer: dialer2}
	e2.svc.Client, e2.svc.TLS = nil, &tls.Config{RootCAs: pool}
	webhooks.New(e2.svc)
	created := e2.create("https://example.com/hook")
	e2.consume(feed.Event{ID: "evt_x", Type: feed.PointsAccrued, TenantID: "t1", MemberID: "m1", Seq: 1, OccurredAt: e2.clock.Now(), Data: []byte(`{}`)})
	e2.queue.drain(t, e2.svc)
	if len(dialer2.asked) != 0 {
		t.Fatalf("dialed %v after the host moved to a private address", dialer2.asked)
	}
	log, _, _ := e2.svc.Attempts(context.Background(), e2.caller, created.ID, 50, "")
	if len(log) != 8 || log[0].Error != "refused address" {
		t.Fatalf("attempts %+v", log)
	}
}
