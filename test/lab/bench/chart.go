package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// The two charts of docs/benchmarks.md, as plain SVG written by hand: no chart
// library, nothing to install, and diffs that stay readable.

const (
	chartW, chartH                     = 760, 420
	marginL, marginR, marginT, marginB = 70, 180, 50, 70
	plotW, plotH                       = chartW - marginL - marginR, chartH - marginT - marginB
	fontAttrs                          = `font-family="Helvetica, Arial, sans-serif" font-size="12" fill="#222"`
)

var (
	blues                            = []string{"#9ecae1", "#4292c6", "#08519c"}
	naiveColor, floorColor, getColor = "#e6550d", "#31a354", "#756bb1"
)

// svg collects the elements of one chart.
type svg struct{ b strings.Builder }

func newSVG(title, subtitle string) *svg {
	s := &svg{}
	fmt.Fprintf(&s.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" %s>`+"\n", chartW, chartH, chartW, chartH, fontAttrs)
	fmt.Fprintf(&s.b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", chartW, chartH)
	s.text(marginL, 22, "start", 15, "bold", title)
	s.text(marginL, 40, "start", 11, "normal", subtitle)
	return s
}

func (s *svg) text(x, y float64, anchor string, size int, weight, t string) {
	fmt.Fprintf(&s.b, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%d" font-weight="%s">%s</text>`+"\n", x, y, anchor, size, weight, html.EscapeString(t))
}

func (s *svg) line(x1, y1, x2, y2 float64, color string, width float64, dash string) {
	d := ""
	if dash != "" {
		d = fmt.Sprintf(` stroke-dasharray="%s"`, dash)
	}
	fmt.Fprintf(&s.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%.1f"%s/>`+"\n", x1, y1, x2, y2, color, width, d)
}

func (s *svg) rect(x, y, w, h float64, color string) {
	fmt.Fprintf(&s.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", x, y, w, h, color)
}

func (s *svg) polyline(pts [][2]float64, color, dash string) {
	var p []string
	for _, pt := range pts {
		p = append(p, fmt.Sprintf("%.1f,%.1f", pt[0], pt[1]))
	}
	d := ""
	if dash != "" {
		d = fmt.Sprintf(` stroke-dasharray="%s"`, dash)
	}
	fmt.Fprintf(&s.b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(p, " "), color, d)
	for _, pt := range pts {
		fmt.Fprintf(&s.b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>`+"\n", pt[0], pt[1], color)
	}
}

// legend draws entries in the right margin; kind is "box" or a dash pattern ("" solid).
func (s *svg) legend(entries [][3]string) {
	x, y := float64(marginL+plotW+20), float64(marginT+10)
	for i, e := range entries {
		yy := y + float64(i)*20
		if e[1] == "box" {
			s.rect(x, yy-9, 14, 10, e[0])
		} else {
			s.line(x, yy-4, x+22, yy-4, e[0], 2.5, e[1])
		}
		s.text(x+28, yy, "start", 11, "normal", e[2])
	}
}

// yAxis draws horizontal grid lines and labels from 0 to top and returns the scale.
func (s *svg) yAxis(top float64, label string) func(float64) float64 {
	step := niceStep(top / 5)
	top = math.Ceil(top/step) * step
	y := func(v float64) float64 { return float64(marginT+plotH) - v/top*float64(plotH) }
	for v := 0.0; v <= top+step/2; v += step {
		s.line(marginL, y(v), marginL+plotW, y(v), "#e5e5e5", 1, "")
		s.text(marginL-8, y(v)+4, "end", 11, "normal", trimFloat(v))
	}
	s.line(marginL, marginT, marginL, marginT+plotH, "#888", 1, "")
	s.line(marginL, marginT+plotH, marginL+plotW, marginT+plotH, "#888", 1, "")
	fmt.Fprintf(&s.b, `<text x="18" y="%.1f" text-anchor="middle" font-size="12" transform="rotate(-90 18 %.1f)">%s</text>`+"\n",
		float64(marginT+plotH/2), float64(marginT+plotH/2), html.EscapeString(label))
	return y
}

func (s *svg) String() string { return s.b.String() + "</svg>\n" }

// niceStep rounds x up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if x <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// latencyChart: place-order latency percentiles by concurrency, with the naive and
// floor p50 of the same runs as marks.
func latencyChart(r *report) string {
	s := newSVG("Place order (POST /orders): latency by concurrency",
		fmt.Sprintf("%s, %d CPUs, %s; durable commits; %s", r.Started[:10], r.Machine.CPUs, firstWords(r.Postgres.Version, 2), "bars: HTTP; marks: raw SQL p50"))
	top := 0.0
	for _, p := range r.Place {
		top = max(top, p.HTTP.P99, p.Naive.P50, p.Floor.P50)
	}
	y := s.yAxis(top*1.08, "latency (ms)")
	groupW := float64(plotW) / float64(len(r.Place))
	barW := groupW * 0.7 / 3
	for gi, p := range r.Place {
		x0 := float64(marginL) + float64(gi)*groupW + groupW*0.15
		for bi, v := range []float64{p.HTTP.P50, p.HTTP.P95, p.HTTP.P99} {
			x := x0 + float64(bi)*barW
			s.rect(x+1, y(v), barW-2, y(0)-y(v), blues[bi])
			s.text(x+barW/2, y(v)-4, "middle", 10, "normal", trimFloat(math.Round(v*10)/10))
		}
		xe := x0 + 3*barW
		s.line(x0-4, y(p.Naive.P50), xe+4, y(p.Naive.P50), naiveColor, 2.5, "")
		s.line(x0-4, y(p.Floor.P50), xe+4, y(p.Floor.P50), floorColor, 2.5, "6 3")
		s.text(x0+1.5*barW, float64(marginT+plotH+20), "middle", 12, "bold", workersLabel(p.Concurrency))
		s.text(x0+1.5*barW, float64(marginT+plotH+34), "middle", 10, "normal", fmt.Sprintf("%s ops/s", thousands(int(math.Round(p.HTTP.RPS)))))
		s.text(x0+1.5*barW, float64(marginT+plotH+48), "middle", 10, "normal", fmt.Sprintf("%.2fx naive, %.2fx floor", p.VsNaive, p.VsFloor))
	}
	s.legend([][3]string{
		{blues[0], "box", "HTTP p50"}, {blues[1], "box", "HTTP p95"}, {blues[2], "box", "HTTP p99"},
		{naiveColor, "", "naive SQL p50"}, {floorColor, "6 3", "floor p50"},
	})
	return s.String()
}

// streamChart: add-line latency against the stream's length, log x axis.
func streamChart(r *report) string {
	s := newSVG("Add line: latency against stream length",
		fmt.Sprintf("%s, 1 worker; p50 at %s events = %.2fx p50 at %s; labels: response size",
			r.Started[:10], thousands(r.Streams[len(r.Streams)-1].Length), r.StreamRatio, thousands(r.Streams[0].Length)))
	top := 0.0
	for _, st := range r.Streams {
		top = max(top, st.AddLine.P99, st.Get.P50)
	}
	y := s.yAxis(top*1.08, "latency (ms)")
	lo := math.Floor(math.Log10(float64(r.Streams[0].Length)))
	hi := math.Ceil(math.Log10(float64(r.Streams[len(r.Streams)-1].Length)))
	if hi <= lo {
		hi = lo + 1
	}
	x := func(n int) float64 {
		return float64(marginL) + 20 + (math.Log10(float64(n))-lo)/(hi-lo)*float64(plotW-40)
	}
	for e := lo; e <= hi; e++ {
		n := int(math.Pow(10, e))
		s.line(x(n), marginT, x(n), marginT+plotH, "#f0f0f0", 1, "")
		s.text(x(n), float64(marginT+plotH+18), "middle", 11, "normal", thousands(n))
	}
	s.text(float64(marginL+plotW/2), float64(marginT+plotH+52), "middle", 12, "normal", "events in the order's stream (log scale)")
	var p50, p99, get [][2]float64
	for _, st := range r.Streams {
		p50 = append(p50, [2]float64{x(st.Length), y(st.AddLine.P50)})
		p99 = append(p99, [2]float64{x(st.Length), y(st.AddLine.P99)})
		get = append(get, [2]float64{x(st.Length), y(st.Get.P50)})
		s.text(x(st.Length), float64(marginT+plotH+32), "middle", 10, "normal", fmt.Sprintf("%s KiB", trimFloat(math.Round(st.RespKiB*10)/10)))
		s.text(x(st.Length)+6, y(st.AddLine.P50)+14, "start", 10, "normal", trimFloat(math.Round(st.AddLine.P50*100)/100))
	}
	s.polyline(p99, blues[2], "6 3")
	s.polyline(p50, blues[1], "")
	s.polyline(get, getColor, "2 3")
	s.legend([][3]string{{blues[1], "", "add line p50"}, {blues[2], "6 3", "add line p99"}, {getColor, "2 3", "GET order p50"}})
	return s.String()
}

func workersLabel(n int) string {
	if n == 1 {
		return "1 worker"
	}
	return fmt.Sprintf("%d workers", n)
}
