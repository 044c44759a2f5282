package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/loyalty/cashback/shared/loyalty"
)

// Resolver looks a host name up (net.DefaultResolver; tests inject one).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Dialer opens a connection (a net.Dialer; tests inject one).
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Guard keeps deliveries away from the service's own network (SSRF): a URL
// is refused at registration when its host resolves to a private, loopback,
// link-local, metadata, CGNAT or other special-purpose address, and at
// delivery time the host is resolved again, the addresses checked again, and
// the connection made to a checked address (never by name, so a DNS answer
// that changes between the check and the connect cannot slip through).
type Guard struct {
	Resolver Resolver
	Dialer   Dialer
	// Local allows plain http and loopback addresses (make run on a laptop,
	// where receivers listen on 127.0.0.1). Never set in the cloud.
	Local bool
}

// blocked are the ranges no delivery may reach (IANA special-purpose
// registries; 169.254.169.254 and fd00:ec2::254, the instance metadata
// service, fall in link-local and ULA).
var blocked = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
		"::/128", "::1/128", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "2002::/16",
		"fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// Allowed reports whether a delivery may connect to ip.
func (g *Guard) Allowed(ip netip.Addr) bool {
	ip = ip.Unmap() // ::ffff:10.0.0.1 is 10.0.0.1
	if ip.Zone() != "" {
		return false
	}
	if g.Local && ip.IsLoopback() {
		return true
	}
	for _, p := range blocked {
		if p.Contains(ip) {
			return false
		}
	}
	return ip.IsValid()
}

// ErrRefusedAddress is why a delivery did not connect.
var ErrRefusedAddress = errors.New("the host resolves to an address webhooks may not reach")

// resolve returns the host's addresses (the host itself when it is one).
func (g *Guard) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{ip}, nil
	}
	r := g.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	return r.LookupNetIP(ctx, "ip", host)
}

// CheckURL validates a webhook URL at registration: an absolute https URL
// (http only for loopback in local mode) without credentials, whose host
// resolves only to addresses a delivery may reach. Errors name the field.
func (g *Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return loyalty.Invalid("url", "an absolute https URL is required")
	}
	if u.User != nil {
		return loyalty.Invalid("url", "the URL must not carry credentials")
	}
	if u.Fragment != "" {
		return loyalty.Invalid("url", "the URL must not have a fragment")
	}
	host := u.Hostname()
	switch u.Scheme {
	case "https":
	case "http":
		if !g.Local {
			return loyalty.Invalid("url", "only https URLs are accepted")
		}
	default:
		return loyalty.Invalid("url", "only https URLs are accepted")
	}
	if p := u.Port(); p != "" {
		if _, err := netip.ParseAddrPort("127.0.0.1:" + p); err != nil || p == "0" {
			return loyalty.Invalid("url", "bad port")
		}
	}
	ips, err := g.resolve(ctx, host)
	if err != nil || len(ips) == 0 {
		return loyalty.Invalid("url", "the host %q does not resolve", host)
	}
	for _, ip := range ips {
		if !g.Allowed(ip) {
			return loyalty.Invalid("url", "the host resolves to a private, loopback, link-local or reserved address")
		}
		if u.Scheme == "http" && !ip.Unmap().IsLoopback() {
			return loyalty.Invalid("url", "plain http is accepted only for loopback receivers (local mode)")
		}
	}
	return nil
}

// DialContext resolves the address's host, keeps the addresses a delivery
// may reach and connects to the first that answers, by address.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	ips, err := g.resolve(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	d := g.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	var lastErr error = ErrRefusedAddress
	for _, ip := range ips {
		if !g.Allowed(ip) {
			continue
		}
		c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		lastErr = err
	}
	return nil, lastErr
}
