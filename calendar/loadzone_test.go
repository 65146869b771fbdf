package calendar

import (
	"strings"
	"testing"
	"time"
)

func TestLoadZone(t *testing.T) {
	for _, name := range []string{"Europe/Berlin", "America/New_York", "UTC", "Local", ""} {
		want, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // loaded, then remembered
			got, err := LoadZone(name)
			if err != nil {
				t.Fatalf("LoadZone(%q): %v", name, err)
			}
			if got.String() != want.String() {
				t.Fatalf("LoadZone(%q) = %s, want %s", name, got, want)
			}
			// The same offsets on both sides of a change of summer time.
			for _, at := range []time.Time{time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC), time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)} {
				if g, w := at.In(got).Format(time.RFC3339), at.In(want).Format(time.RFC3339); g != w {
					t.Errorf("LoadZone(%q): %s, want %s", name, g, w)
				}
			}
		}
	}
	for _, bad := range []string{"Mars/Olympus_Mons", "../etc/passwd"} {
		if _, err := LoadZone(bad); err == nil {
			t.Errorf("LoadZone(%q) loaded", bad)
		}
		if _, ok := zoneCache.Load(bad); ok {
			t.Errorf("LoadZone(%q) kept a failure", bad)
		}
	}
}

// TestLoadZoneBounded: one zone loads under many spellings, which visitors
// choose; the cache keeps at most zoneCacheMax of them, and the rest load
// uncached. The zone picker's names refuse such spellings outright.
func TestLoadZoneBounded(t *testing.T) {
	for i := range zoneCacheMax + 10 {
		name := "Europe" + strings.Repeat("/", i+1) + "Berlin"
		if _, err := LoadZone(name); err != nil {
			t.Skipf("this system does not load %q: %v", name[:20], err)
		}
	}
	n := 0
	zoneCache.Range(func(any, any) bool { n++; return true })
	if n > zoneCacheMax {
		t.Fatalf("%d zones cached, at most %d", n, zoneCacheMax)
	}
	if _, ok := CanonicalZone("Europe//Berlin"); ok {
		t.Error("Europe//Berlin is taken as a zone name")
	}
}

func BenchmarkLoadZone(b *testing.B) {
	b.Run("time.LoadLocation", func(b *testing.B) {
		for b.Loop() {
			if _, err := time.LoadLocation("Europe/Berlin"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("LoadZone", func(b *testing.B) {
		for b.Loop() {
			if _, err := LoadZone("Europe/Berlin"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
