package handlers

import (
	"slices"
	"testing"
)

func TestWords(t *testing.T) {
	for code, want := range map[string]string{
		"invitation_ceo": "Invitation to the CEO",
		"sign_in_failed": "Failed sign-in",
		"staff:1":        "Staff member #1",
		"lead:42":        "Lead #42",
		"cli":            "The command line",
		"visitor":        "The visitor",
		"caldav_delete":  "Deletion from the CEO's calendar",
		"rate_limited":   "Rate limited",
		"staff:x":        "staff:x",
		"550 error":      "550 error",
		"":               "",
	} {
		if got := words(code); got != want {
			t.Errorf("words(%q) = %q, want %q", code, got, want)
		}
	}
}

func TestChartScaleNiceTicks(t *testing.T) {
	for _, tc := range []struct {
		max       int
		step, top int
		wantTicks []int
	}{
		{0, 1, 1, []int{0, 1}},
		{1, 1, 1, []int{0, 1}},
		{3, 1, 3, []int{0, 1, 2, 3}},
		{7, 2, 8, []int{0, 2, 4, 6, 8}},
		{23, 5, 25, []int{0, 5, 10, 15, 20, 25}},
		{100, 20, 100, []int{0, 20, 40, 60, 80, 100}},
		{137, 50, 150, []int{0, 50, 100, 150}},
	} {
		step, top := chartScale(tc.max)
		var ticks []int
		for v := 0; v <= top; v += step {
			ticks = append(ticks, v)
		}
		if step != tc.step || top != tc.top || !slices.Equal(ticks, tc.wantTicks) {
			t.Errorf("chartScale(%d) = step %d top %d (%v), want %d %d %v", tc.max, step, top, ticks, tc.step, tc.top, tc.wantTicks)
		}
	}
}
