package calendar

import (
	"archive/zip"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
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
// the zone database the binary carries. time/tzdata embeds the Go
// toolchain's lib/time/zoneinfo.zip, so the zones are read from that file
// (time.LoadLocation would take the host's /usr/share/zoneinfo first, and
// a zone missing from Go's copy would pass here and fail on a machine
// without one).
func TestZoneTablesLoad(t *testing.T) {
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	zr, err := zip.OpenReader(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "time", "zoneinfo.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	embedded := map[string]*zip.File{}
	for _, f := range zr.File {
		embedded[f.Name] = f
	}
	for _, z := range zoneTab {
		f := embedded[z[0]]
		if f == nil {
			t.Errorf("zone %s: not in the embedded zone database", z[0])
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := time.LoadLocationFromTZData(z[0], data); err != nil {
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

// TestZoneGroupsAcrossAChange: the list is built once for a span in which
// no zone changes its offset, and again across a change: New York's label
// moves from UTC−05:00 to UTC−04:00 at 07:00 UTC on 8 March 2026.
func TestZoneGroupsAcrossAChange(t *testing.T) {
	label := func(now time.Time) (string, *ZoneChoice) {
		for _, g := range ZoneGroups(now) {
			for i := range g.Zones {
				if g.Zones[i].Name == "America/New_York" {
					return g.Zones[i].Label, &g.Zones[i]
				}
			}
		}
		t.Fatal("no America/New_York")
		return "", nil
	}
	change := time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)
	before, p1 := label(change.Add(-time.Minute))
	_, p2 := label(change.Add(-2 * time.Minute))
	after, _ := label(change)
	if before != "UTC\u221205:00 · Eastern Time, New York" || after != "UTC\u221204:00 · Eastern Time, New York" {
		t.Errorf("before the change %q, after it %q", before, after)
	}
	if p1 != p2 {
		t.Error("the list was built again within a span in which no zone changed")
	}
	if again, _ := label(change.Add(-time.Minute)); again != before {
		t.Errorf("back before the change: %q", again)
	}
}
