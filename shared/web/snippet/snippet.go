// Package snippet writes what a partner site pastes to embed a tenant's
// enrollment page: the link, an iframe, a script that opens the page in a
// modal dialog, and the link's QR codes. It imports nothing heavy, so the API
// function that hands the snippets out stays small.
package snippet

import (
	"html"
	"net/url"
)

// Snippets are the ways to embed one tenant's enrollment page.
type Snippets struct {
	Link   string `json:"link" doc:"The enrollment page"`
	IFrame string `json:"iframe" doc:"HTML to paste where the form should appear"`
	Script string `json:"script" doc:"HTML to paste once: a button that opens the form in an accessible dialog over the page"`
	QR     QR     `json:"qr" doc:"The link as a QR code, for the counter"`
}

// QR are the addresses of the link's QR code images.
type QR struct {
	PNG string `json:"png"`
	SVG string `json:"svg"`
}

// For builds the snippets of the tenant with slug on the service at base
// (scheme://host, no trailing slash).
func For(base, slug string) Snippets {
	link := base + "/j/" + url.PathEscape(slug)
	esc := html.EscapeString
	return Snippets{
		Link: link,
		IFrame: `<iframe src="` + esc(link+"?embed=1") + `" title="Loyalty card" width="100%" height="640" ` +
			`style="border:0;max-width:480px" loading="lazy"></iframe>`,
		Script: `<script src="` + esc(base+"/embed.js") + `" data-loyalty-page="` + esc(link) + `" async></script>`,
		QR:     QR{PNG: link + "/qr.png", SVG: link + "/qr.svg"},
	}
}
