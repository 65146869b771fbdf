// Package calendar is leadbook's pure time logic: the CEO's availability
// rules, slot generation across daylight-saving changes, busy times read from
// iCalendar feeds, and the iCalendar encoding of invitations and of the CEO's
// subscription feed.
//
// The package imports no other package of leadbook, keeps no state in package
// variables and takes the current time as a parameter (or a Now field), so
// every result is reproducible in tests. The zone database is embedded
// (time/tzdata) so that a binary on a machine without /usr/share/zoneinfo
// still knows every zone.
package calendar

import _ "time/tzdata" // embed the zone database: the CEO's and visitors' zones must always load
