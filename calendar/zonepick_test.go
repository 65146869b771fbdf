package calendar

import (
	"testing"
	"time"
)

func TestCanonicalZone(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Asia/Calcutta", "Asia/Kolkata", true},
		{"Europe/Kiev", "Europe/Kyiv", true},
		{"Asia/Saigon", "Asia/Ho_Chi_Minh", true},
		{"Asia/Katmandu", "Asia/Kathmandu", true},
		{"Asia/Rangoon", "Asia/Yangon", true},
		{"America/Buenos_Aires", "America/Argentina/Buenos_Aires", true},
		{"US/Pacific", "America/Los_Angeles", true},
		{"Etc/UTC", "UTC", true},
		{"America/Detroit", "America/Detroit", true},
		{"Europe/Luxembourg", "Europe/Luxembourg", true},
		{"Etc/GMT+5", "Etc/GMT+5", true},
		{"Mars/Olympus", "", false},
		{"../../etc/passwd", "", false},
	}
	for _, tt := range tests {
		got, ok := CanonicalZone(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CanonicalZone(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestZoneTablesLoad: every zone offered and every link target loads from
// the zone database the binary carries.
func TestZoneTablesLoad(t *testing.T) {
	t.Setenv("ZONEINFO", "/nonexistent") // the embedded time/tzdata only
	for _, z := range zoneTab {
		if _, err := time.LoadLocation(z[0]); err != nil {
			t.Errorf("zone %s: %v", z[0], err)
		}
	}
	for from, to := range zoneLinks {
		if _, ok := zoneCountry()[to]; !ok {
			t.Errorf("link %s -> %s: not an offered zone", from, to)
		}
	}
}

func TestZoneGroupsAndNames(t *testing.T) {
	now := time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	n := 0
	for _, g := range ZoneGroups(now) {
		for i, z := range g.Zones {
			n++
			if i > 0 && g.Zones[i-1].offset > z.offset {
				t.Errorf("%s: %s before %s", g.Region, g.Zones[i-1].Name, z.Name)
			}
			if z.Name == "America/New_York" && z.Label != "UTC\u221205:00 · Eastern Time, New York" {
				t.Errorf("label %q", z.Label)
			}
		}
	}
	if n != len(zoneTab)+1 {
		t.Errorf("%d zones, want %d", n, len(zoneTab)+1)
	}
	for in, want := range map[string]string{"Asia/Calcutta": "India Standard Time, Kolkata", "Asia/Tbilisi": "Tbilisi, Georgia", "UTC": "Coordinated Universal Time"} {
		if got := ZoneName(in); got != want {
			t.Errorf("ZoneName(%s) = %q, want %q", in, got, want)
		}
	}
}
