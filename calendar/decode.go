package calendar

import (
	"bytes"
	"fmt"

	"github.com/emersion/go-ical"
)

// Decode reads one iCalendar object with go-ical, whose decoder panics on
// some malformed content lines (a parameter value that ends the line, or a
// quoted one followed by anything but ';', ',' or ':'). Data that comes
// from outside (a CalDAV server's objects, a mailed reply) goes through
// Decode, so that such input is an error and never takes the process down.
func Decode(data []byte) (cal *ical.Calendar, err error) {
	defer func() {
		if v := recover(); v != nil {
			cal, err = nil, fmt.Errorf("ical: malformed content line: %v", v)
		}
	}()
	return ical.NewDecoder(bytes.NewReader(data)).Decode()
}
