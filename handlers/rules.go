package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"leadbook/calendar"
	"leadbook/leads"
)

// SettingsStore is where the booking rules set on the settings page live.
type SettingsStore interface {
	BookingSettings(ctx context.Context) ([]leads.BookingSetting, uint64, error)
	BookingSettingsVersion() uint64
	SetBookingSettings(ctx context.Context, set map[string]string, reset []string, by leads.Actor) error
	// SetBookingSettingsFrom stores a change made from the settings at
	// version from, or refuses it with leads.ErrSettingsChanged when
	// another was stored since.
	SetBookingSettingsFrom(ctx context.Context, from uint64, set map[string]string, reset []string, by leads.Actor) error
}

// RuleField is one booking rule the settings page may override: its
// stored name, the environment variable that gives its first value, and
// how its text is read and written (the syntax of that variable).
type RuleField struct {
	Name  string
	Label string
	Env   string
	Help  string
	parse func(r *calendar.Rules, v string) error
	show  func(r calendar.Rules) string
}

// RuleFields are the booking rules the settings page edits, in its order.
// Their syntax and bounds are those of the environment variables.
var RuleFields = []RuleField{
	{Name: "hours", Label: "Weekly hours", Env: "LEADBOOK_HOURS",
		Help: "Rules joined by ';', ranges by ',': mon-thu 09:00-12:00,13:00-17:00; fri 09:00-12:00",
		parse: func(r *calendar.Rules, v string) error {
			w, err := calendar.ParseHours(v)
			if err != nil {
				return errors.New(strings.TrimPrefix(err.Error(), "calendar: "))
			}
			r.Hours = w
			return nil
		},
		show: func(r calendar.Rules) string { return r.Hours.String() }},
	{Name: "closed", Label: "Closed dates", Env: "LEADBOOK_CLOSED",
		Help: "Dates with no calls, joined by ',': 2026-12-24,2026-12-31..2027-01-02; empty: none",
		parse: func(r *calendar.Rules, v string) error {
			closed, err := calendar.ParseClosed(v)
			if err != nil {
				return errors.New(strings.TrimPrefix(err.Error(), "calendar: "))
			}
			r.Closed = closed
			return nil
		},
		show: func(r calendar.Rules) string { return formatClosed(r.Closed) }},
	{Name: "slot_minutes", Label: "Call length (minutes)", Env: "LEADBOOK_SLOT_MINUTES", Help: "5 to 480",
		parse: minutesIn(func(r *calendar.Rules) *time.Duration { return &r.Slot }, 5, 480),
		show:  func(r calendar.Rules) string { return strconv.Itoa(int(r.Slot / time.Minute)) }},
	{Name: "buffer_minutes", Label: "Buffer between calls (minutes)", Env: "LEADBOOK_BUFFER_MINUTES", Help: "0 to 240",
		parse: minutesIn(func(r *calendar.Rules) *time.Duration { return &r.Buffer }, 0, 240),
		show:  func(r calendar.Rules) string { return strconv.Itoa(int(r.Buffer / time.Minute)) }},
	{Name: "min_notice", Label: "Minimum notice", Env: "LEADBOOK_MIN_NOTICE", Help: "A duration like 12h or 90m, up to 90 days (2160h)",
		parse: func(r *calendar.Rules, v string) error {
			v = strings.TrimSpace(v)
			if v == "0" {
				v = "0s"
			}
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%q is not a duration like 12h or 30m", v)
			}
			if d < 0 || d > 90*24*time.Hour {
				return fmt.Errorf("%s is out of range 0s..2160h0m0s", d)
			}
			r.MinNotice = d
			return nil
		},
		show: func(r calendar.Rules) string { return r.MinNotice.String() }},
	{Name: "horizon_days", Label: "Horizon (days ahead)", Env: "LEADBOOK_HORIZON_DAYS", Help: "1 to 366",
		parse: intRule(func(r *calendar.Rules) *int { return &r.HorizonDays }, 1, 366),
		show:  func(r calendar.Rules) string { return strconv.Itoa(r.HorizonDays) }},
	{Name: "daily_cap", Label: "Most calls a day", Env: "LEADBOOK_DAILY_CAP", Help: "0 to 1000; 0: no cap",
		parse: intRule(func(r *calendar.Rules) *int { return &r.DailyCap }, 0, 1000),
		show:  func(r calendar.Rules) string { return strconv.Itoa(r.DailyCap) }},
}

func ruleField(name string) (RuleField, bool) {
	for _, f := range RuleFields {
		if f.Name == name {
			return f, true
		}
	}
	return RuleField{}, false
}

func parseWhole(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", v)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d is out of range %d..%d", n, lo, hi)
	}
	return n, nil
}

func intRule(field func(*calendar.Rules) *int, lo, hi int) func(*calendar.Rules, string) error {
	return func(r *calendar.Rules, v string) error {
		n, err := parseWhole(v, lo, hi)
		if err != nil {
			return err
		}
		*field(r) = n
		return nil
	}
}

func minutesIn(field func(*calendar.Rules) *time.Duration, lo, hi int) func(*calendar.Rules, string) error {
	return func(r *calendar.Rules, v string) error {
		n, err := parseWhole(v, lo, hi)
		if err != nil {
			return err
		}
		*field(r) = time.Duration(n) * time.Minute
		return nil
	}
}

func formatClosed(rs []calendar.DateRange) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.From.String()
		if r.To != r.From {
			parts[i] += ".." + r.To.String()
		}
	}
	return strings.Join(parts, ",")
}

// RuleValue is one booking rule in force and where it comes from.
type RuleValue struct {
	RuleField
	Value       string // the value in force, in the environment variable's syntax
	Environment string // the environment's value
	Stored      *leads.BookingSetting
	// Error says why a stored value is not in force (it no longer reads,
	// or it breaks the rules with the others); the environment's is.
	Error string
}

// FromDatabase reports whether the value in force is the stored one.
func (v RuleValue) FromDatabase() bool { return v.Stored != nil && v.Error == "" }

// ResolveRules is base, the rules of the environment, with the stored
// values over it: a stored value that does not read, or that makes the
// rules invalid, is left out (and said so in its RuleValue), so a bad row
// never takes the booking pages down.
func ResolveRules(base calendar.Rules, stored []leads.BookingSetting) (calendar.Rules, []RuleValue) {
	byName := map[string]*leads.BookingSetting{}
	for i := range stored {
		byName[stored[i].Name] = &stored[i]
	}
	r := base
	values := make([]RuleValue, len(RuleFields))
	for i, f := range RuleFields {
		values[i] = RuleValue{RuleField: f, Environment: f.show(base), Stored: byName[f.Name]}
		if st := values[i].Stored; st != nil {
			next := r
			if err := f.parse(&next, st.Value); err != nil {
				values[i].Error = err.Error()
			} else if err := next.Validate(); err != nil {
				values[i].Error = strings.TrimPrefix(err.Error(), "calendar: ")
			} else {
				r = next
			}
		}
	}
	for i := range values {
		values[i].Value = values[i].show(r)
	}
	return r, values
}

// rulesInForce is the booking rules and questions as one version of the
// stored settings makes them.
type rulesInForce struct {
	version   uint64
	rules     calendar.Rules
	values    []RuleValue
	questions QuestionsValue
}

// rulesCache keeps the rules in force until the settings' version in the
// database moves.
type rulesCache struct {
	mu  sync.Mutex
	cur *rulesInForce
}

// bookingRules are the booking rules in force: the environment's,
// overridden by those stored on the settings page. Every instance sees a
// change within the store's version interval (about a second) and this
// one at once; between changes it costs no query. Every read of the rules
// goes through it.
func (s *Server) bookingRules(ctx context.Context) (calendar.Rules, error) {
	f, err := s.rulesNow(ctx)
	if err != nil {
		return calendar.Rules{}, err
	}
	return f.rules, nil
}

func (s *Server) rulesNow(ctx context.Context) (*rulesInForce, error) {
	b := s.booking
	if b.Settings == nil {
		return &rulesInForce{rules: b.Rules, questions: QuestionsValue{Questions: b.Questions, Environment: b.Questions}}, nil
	}
	v := b.Settings.BookingSettingsVersion()
	s.rules.mu.Lock()
	cur := s.rules.cur
	s.rules.mu.Unlock()
	if cur != nil && cur.version >= v {
		return cur, nil
	}
	stored, version, err := b.Settings.BookingSettings(ctx)
	if err != nil {
		return nil, err
	}
	r, values := ResolveRules(b.Rules, stored)
	for _, val := range values {
		if val.Error != "" {
			s.log.WarnContext(ctx, "stored booking rule not applied", "rule", val.Name, "err", val.Error)
		}
	}
	qv := ResolveQuestions(b.Questions, stored)
	if qv.Error != "" {
		s.log.WarnContext(ctx, "stored booking questions not applied", "err", qv.Error)
	}
	f := &rulesInForce{version: version, rules: r, values: values, questions: qv}
	s.rules.mu.Lock()
	if s.rules.cur == nil || s.rules.cur.version < version {
		s.rules.cur = f
	}
	s.rules.mu.Unlock()
	return f, nil
}
