package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The service chart: requests per second and latency (p50, p99) over the run, as the
// service itself measured them (its /metrics, scraped by the harness), with the
// scenarios marked. A paletted PNG keeps it to a few tens of KB.
var pngPalette = color.Palette{
	color.RGBA{255, 255, 255, 255}, // 0 background
	color.RGBA{40, 40, 40, 255},    // 1 text, axes
	color.RGBA{225, 225, 225, 255}, // 2 grid
	color.RGBA{31, 119, 180, 255},  // 3 requests/s, p50
	color.RGBA{214, 39, 40, 255},   // 4 p99
	color.RGBA{245, 245, 250, 255}, // 5 alternate scenario band
	color.RGBA{130, 130, 130, 255}, // 6 scenario labels
}

const (
	cWhite = iota
	cInk
	cGrid
	cBlue
	cRed
	cBand
	cMuted
)

type raster struct{ img *image.Paletted }

func (r raster) set(x, y int, c uint8) {
	if image.Pt(x, y).In(r.img.Rect) {
		r.img.SetColorIndex(x, y, c)
	}
}

func (r raster) fill(x0, y0, x1, y1 int, c uint8) {
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			r.set(x, y, c)
		}
	}
}

// line draws a 2-pixel-wide line (Bresenham, thickened downwards).
func (r raster) line(x0, y0, x1, y1 int, c uint8, thick int) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		for t := 0; t < thick; t++ {
			r.set(x0, y0+t, c)
		}
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

func (r raster) text(x, y int, s string, c uint8) {
	d := font.Drawer{Dst: r.img, Src: image.NewUniform(pngPalette[c]), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func (r raster) textRight(x, y int, s string, c uint8) { r.text(x-7*len(s), y, s, c) }

func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// serviceRate is one interval between two scrapes.
type serviceRate struct {
	t        float64 // the interval's end
	rps      float64
	p50, p99 float64 // milliseconds; NaN when no request ended in the interval
}

func serviceRates(tl *timeline) []serviceRate {
	var out []serviceRate
	for i := 1; i < len(tl.Points); i++ {
		a, b := tl.Points[i-1], tl.Points[i]
		dt := b.T - a.T
		if dt <= 0 || len(a.Buckets) != len(b.Buckets) {
			continue
		}
		delta := make([]float64, len(b.Buckets))
		for j := range delta {
			delta[j] = b.Buckets[j] - a.Buckets[j]
		}
		n := b.Count - a.Count
		out = append(out, serviceRate{t: b.T, rps: (b.Requests - a.Requests) / dt,
			p50: 1000 * bucketQuantile(0.5, tl.Les, delta, n), p99: 1000 * bucketQuantile(0.99, tl.Les, delta, n)})
	}
	return out
}

// bucketQuantile is PromQL's histogram_quantile on cumulative counts of the finite
// buckets les and the total: linear interpolation inside the bucket the rank falls
// in; beyond the last finite bucket, its bound.
func bucketQuantile(q float64, les, cum []float64, total float64) float64 {
	if len(cum) == 0 || total <= 0 {
		return math.NaN()
	}
	rank := q * total
	for i, c := range cum {
		if c < rank {
			continue
		}
		lo, below := 0.0, 0.0
		if i > 0 {
			lo, below = les[i-1], cum[i-1] //nolint:gosec // les and cum have the same length
		}
		if c == below {
			return les[i]
		}
		return lo + (les[i]-lo)*(rank-below)/(c-below)
	}
	return les[len(les)-1]
}

// serviceChart renders the timeline, or nil when it has too few scrapes.
func serviceChart(tl *timeline, subtitle string) ([]byte, error) {
	rates := serviceRates(tl)
	if len(rates) < 2 {
		return nil, nil
	}
	const w, h = 760, 440
	const left, right = 64, 16
	r := raster{image.NewPaletted(image.Rect(0, 0, w, h), pngPalette)}
	r.text(left, 18, "Service requests/s and latency during the benchmark (its own /metrics)", cInk)
	r.text(left, 34, subtitle, cMuted)

	tMax := rates[len(rates)-1].t
	x := func(t float64) int { return left + int(float64(w-left-right)*t/tMax) }
	type panel struct{ top, bottom int }
	top, bottom := panel{52, 220}, panel{250, 410}

	// Scenario bands, alternating, labelled in the top panel.
	for i, m := range tl.Marks {
		end := tMax
		if i+1 < len(tl.Marks) {
			end = tl.Marks[i+1].T
		}
		if i%2 == 1 {
			r.fill(x(m.T), top.top, x(end), top.bottom, cBand)
			r.fill(x(m.T), bottom.top, x(end), bottom.bottom, cBand)
		}
		if x(end)-x(m.T) > 7*len(m.Name)+4 {
			r.text(x(m.T)+3, top.top+12, m.Name, cMuted)
		}
	}

	maxRPS, maxMS := 0.0, 0.0
	for _, s := range rates {
		maxRPS = math.Max(maxRPS, s.rps)
		if !math.IsNaN(s.p99) {
			maxMS = math.Max(maxMS, s.p99)
		}
	}
	axis := func(p panel, hi float64, label string) func(float64) int {
		step := niceStep(hi / 4)
		if step <= 0 {
			step = 1
		}
		top := step * math.Ceil(hi/step)
		y := func(v float64) int { return p.bottom - int(float64(p.bottom-p.top-16)*v/top) }
		for v := 0.0; v <= top+step/2; v += step {
			r.line(left, y(v), w-right, y(v), cGrid, 1)
			r.textRight(left-4, y(v)+4, trimFloat(v), cInk)
		}
		r.line(left, p.top, left, p.bottom, cInk, 1)
		r.line(left, p.bottom, w-right, p.bottom, cInk, 1)
		r.text(left+4, p.top+26, label, cInk)
		return y
	}
	plot := func(y func(float64) int, v func(serviceRate) float64, c uint8) {
		prevOK := false
		var px, py int
		for _, s := range rates {
			val := v(s)
			if math.IsNaN(val) {
				prevOK = false
				continue
			}
			cx, cy := x(s.t), y(val)
			if prevOK {
				r.line(px, py, cx, cy, c, 2)
			}
			px, py, prevOK = cx, cy, true
		}
	}
	yRPS := axis(top, maxRPS, "requests/s")
	plot(yRPS, func(s serviceRate) float64 { return s.rps }, cBlue)
	yMS := axis(bottom, maxMS, "latency, ms:")
	plot(yMS, func(s serviceRate) float64 { return s.p50 }, cBlue)
	plot(yMS, func(s serviceRate) float64 { return s.p99 }, cRed)
	r.text(left+4+13*7, bottom.top+26, "p50", cBlue)
	r.text(left+4+17*7, bottom.top+26, "p99", cRed)
	for t := 0.0; t <= tMax; t += niceStep(tMax / 8) {
		r.text(x(t)-3*len(trimFloat(t)), bottom.bottom+14, trimFloat(t), cInk)
	}
	r.textRight(w-right, h-6, "seconds since the start", cInk)

	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, r.img); err != nil {
		return nil, fmt.Errorf("service chart: %w", err)
	}
	return buf.Bytes(), nil
}
