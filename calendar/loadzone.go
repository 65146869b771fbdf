package calendar

import (
	"sync"
	"time"
)

// zoneCache holds every zone LoadZone has loaded. Only names that load are
// kept, so its size is bounded by the zone database; a *time.Location is
// immutable and safe to share.
var zoneCache sync.Map // string → *time.Location

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
	zoneCache.Store(name, loc)
	return loc, nil
}
