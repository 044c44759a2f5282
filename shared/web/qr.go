package web

import (
	"bytes"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"strings"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
)

// qrQuiet is the quiet zone around a QR code, in modules (the standard's 4).
const qrQuiet = 4

// qrSVG draws content as a QR code: one path of unit squares on a white
// background, scaled by the viewBox, so the page carries a few hundred
// bytes instead of an image request, and it prints sharp at any size.
func qrSVG(content, label string) (template.HTML, error) {
	code, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return "", err
	}
	n := code.Bounds().Dx()
	size := n + 2*qrQuiet
	var path strings.Builder
	dark := func(x, y int) bool { r, _, _, _ := code.At(x, y).RGBA(); return r == 0 }
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if !dark(x, y) {
				continue
			}
			run := 1 // one rectangle per horizontal run of dark modules
			for x+run < n && dark(x+run, y) {
				run++
			}
			fmt.Fprintf(&path, "M%d %dh%dv1h-%dz", x+qrQuiet, y+qrQuiet, run, run)
			x += run - 1
		}
	}
	svg := fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s" shape-rendering="crispEdges">`+
		`<rect width="%d" height="%d" fill="#fff"/><path d="%s" fill="#000"/></svg>`,
		size, size, template.HTMLEscapeString(label), size, size, path.String())
	return template.HTML(svg), nil // built from numbers and an escaped label
}

// qrPNG draws content as a QR code image of about px pixels a side.
func qrPNG(content string, px int) ([]byte, error) {
	code, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return nil, err
	}
	n := code.Bounds().Dx() + 2*qrQuiet
	scale := max(px/n, 1)
	scaled, err := barcode.ScaleWithFill(code, code.Bounds().Dx()*scale, code.Bounds().Dy()*scale, color.White)
	if err != nil {
		return nil, err
	}
	// The quiet zone: draw onto a white canvas with a margin.
	img := newWhite(n*scale, n*scale)
	off := qrQuiet * scale
	b := scaled.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			img.Set(x+off, y+off, scaled.At(x, y))
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func newWhite(w, h int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	return img
}
