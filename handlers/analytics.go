package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"leadbook/leads"
)

// statsRow is a row of the analytics tables, its conversion written out.
type statsRow struct {
	Name                   string
	Views, Leads, Bookings int64
	Conversion             string
}

func statsRows(rs []leads.StatsRow) []statsRow {
	out := make([]statsRow, 0, len(rs))
	for _, r := range rs {
		out = append(out, newStatsRow(r))
	}
	return out
}

func newStatsRow(r leads.StatsRow) statsRow {
	conv := "–"
	if r.Views > 0 {
		conv = strconv.FormatFloat(100*r.Conversion(), 'f', 1, 64) + "%"
	}
	return statsRow{Name: r.Name, Views: r.Views, Leads: r.Leads, Bookings: r.Bookings, Conversion: conv}
}

// maxChartBars bounds the analytics chart's bars: a longer period puts
// several days in a bar.
const maxChartBars = 60

// newStatsChart lays out the period's views per day (or per bucket of
// days) and, on their own scale, the leads and calls booked beside them.
func newStatsChart(days []leads.StatsDay) (ch chart, bucket int, convMax int64) {
	const w, h, top, bottom, left = 640, 220, 10, 30, 36
	ch = chart{Width: w, Height: h}
	bucket = max((len(days)+maxChartBars-1)/maxChartBars, 1)
	type bar struct {
		from, to       string
		views, convert int64
	}
	var bars []bar
	for i := 0; i < len(days); i += bucket {
		b := bar{from: days[i].Day}
		for _, d := range days[i:min(i+bucket, len(days))] {
			b.views += d.Views
			b.convert += d.Leads + d.Bookings
			b.to = d.Day
		}
		bars = append(bars, b)
	}
	var viewMax int64
	for _, b := range bars {
		viewMax, convMax = max(viewMax, b.views), max(convMax, b.convert)
	}
	// The views' axis tops at a round number, with round ticks, as the
	// dashboard's weekly chart does.
	step, top64 := chartScale(int(viewMax))
	scale, cscale := int64(top64), max(convMax, 1)
	ch.Max = int(viewMax)
	plot := int64(h - top - bottom)
	slot := (w - left) / max(len(bars), 1)
	bw := max(slot/3, 1)
	labelEvery := max((len(bars)+7)/8, 1)
	for i, b := range bars {
		x := left + i*slot + slot/6
		vh := int(b.views * plot / scale)
		chh := int(b.convert * plot / cscale)
		span := b.from
		if b.to != b.from {
			span += " to " + b.to
		}
		cb := chartBar{
			X: x, W: bw, LeadH: vh, LeadY: top + int(plot) - vh, BookH: chh, BookY: top + int(plot) - chh, LabelX: x + bw,
			Title: fmt.Sprintf("%s: %d views, %d leads and calls booked", span, b.views, b.convert),
		}
		if i%labelEvery == 0 {
			if t, err := time.Parse(time.DateOnly, b.from); err == nil {
				cb.Label = t.Format("2 Jan")
			}
		}
		ch.Bars = append(ch.Bars, cb)
	}
	for v := int64(0); v <= scale; v += int64(step) {
		ch.Ticks = append(ch.Ticks, chartTick{Y: top + int(plot-v*plot/scale), Label: strconv.FormatInt(v, 10)})
	}
	return ch, bucket, convMax
}

// handleStaffAnalytics shows views, leads, calls booked and conversion
// per article and per source over a period of days (from and to,
// inclusive, UTC; the last 30 days by default).
func (s *Server) handleStaffAnalytics(c echo.Context) error {
	today := s.now().UTC().Truncate(24 * time.Hour)
	to, err := parseDay(c.QueryParam("to"), false)
	if err != nil {
		return err
	}
	if to.IsZero() {
		to = today
	}
	from, err := parseDay(c.QueryParam("from"), false)
	if err != nil {
		return err
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -29)
	}
	if to.Before(from) {
		return echo.NewHTTPError(http.StatusBadRequest, "The period ends before it starts.")
	}
	st, err := s.staff.Store.ArticleStats(c.Request().Context(), from, to)
	if err != nil {
		return err
	}
	ch, bucket, convMax := newStatsChart(st.Days)
	return s.renderStaff(c, http.StatusOK, "staff_analytics", "Analytics", "analytics", map[string]any{
		"Stats": st, "From": st.From, "To": st.To, "Total": newStatsRow(st.Total),
		"Articles": statsRows(st.Articles), "Sources": statsRows(st.Sources),
		"Chart": ch, "Bucket": bucket, "ConvScale": convMax,
	})
}
