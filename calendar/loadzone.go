package calendar

import (
	"sync"
	"sync/atomic"
	"time"
)

// zoneCache holds the zones LoadZone has loaded, at most zoneCacheMax of
// them: only names that load are kept, but one zone loads under many
// spellings (Europe//Berlin), and visitors and feeds choose the names.
// A *time.Location is immutable and safe to share.
var (
	zoneCache  sync.Map // string → *time.Location
	zoneCached atomic.Int64
)

// zoneCacheMax is over twice the zone database's names.
const zoneCacheMax = 2048

// LoadZone is time.LoadLocation, remembered: time.LoadLocation reads and
// parses the zone database on every call, which a booking's mail and a
// visitor's slot list would otherwise pay on every request.
func LoadZone(name string) (*time.Location, error) {
	if loc, ok := zoneCache.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	if zoneCached.Load() < zoneCacheMax {
		if _, loaded := zoneCache.LoadOrStore(name, loc); !loaded {
			zoneCached.Add(1)
		}
	}
	return loc, nil
}
