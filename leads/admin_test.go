package leads_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/leads/leadstest"
)

// TestStaffRoles: the first account is an admin, later ones staff unless
// made admin; a session carries its account's role as it is now; the last
// admin can be neither demoted nor removed; every change is audited.
func TestStaffRoles(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		c := newClock()
		s := openStaffStore(t, db, c)
		first, err := s.AddStaff(ctx, "ann@example.com", "first password 123", leads.ActorCLI)
		if err != nil || first.Role != leads.RoleAdmin {
			t.Fatalf("first account: %+v %v", first, err)
		}
		second, err := s.AddStaff(ctx, "bob@example.com", "second password 123", leads.ActorCLI)
		if err != nil || second.Role != leads.RoleStaff {
			t.Fatalf("second account: %+v %v", second, err)
		}
		if _, err := s.AddStaffRole(ctx, "cy@example.com", "third password 1234", "owner", leads.ActorCLI); leads.ErrorCode(err) != leads.EINVALID {
			t.Fatalf("role owner: %v", err)
		}
		by := leads.Actor{Kind: "staff", ID: first.ID}
		if err := s.SetStaffRole(ctx, "ANN@example.com", leads.RoleStaff, by); leads.ErrorCode(err) != leads.ECONFLICT {
			t.Fatalf("demoting the last admin: %v", err)
		}
		if err := s.RemoveStaff(ctx, "ann@example.com", by); leads.ErrorCode(err) != leads.ECONFLICT {
			t.Fatalf("removing the last admin: %v", err)
		}
		if err := s.SetStaffRole(ctx, "ann@example.com", "root", by); leads.ErrorCode(err) != leads.EINVALID {
			t.Fatalf("role root: %v", err)
		}
		if err := s.SetStaffRole(ctx, "nobody@example.com", leads.RoleAdmin, by); leads.ErrorCode(err) != leads.ENOTFOUND {
			t.Fatalf("unknown account: %v", err)
		}
		tok, err := s.CreateSession(ctx, second.ID, leads.SessionPolicy{Idle: time.Hour, Absolute: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		se, err := s.FindSession(ctx, tok, leads.SessionPolicy{Idle: time.Hour, Absolute: time.Hour})
		if err != nil || se.Staff.IsAdmin() {
			t.Fatalf("staff session: %+v %v", se, err)
		}
		if err := s.SetStaffRole(ctx, "bob@example.com", leads.RoleAdmin, by); err != nil {
			t.Fatal(err)
		}
		se, err = s.FindSession(ctx, tok, leads.SessionPolicy{Idle: time.Hour, Absolute: time.Hour})
		if err != nil || !se.Staff.IsAdmin() {
			t.Fatalf("the session did not follow the new role: %+v %v", se, err)
		}
		if err := s.SetStaffRole(ctx, "ann@example.com", leads.RoleStaff, by); err != nil {
			t.Fatalf("demoting an admin with another left: %v", err)
		}
		if err := s.RemoveStaff(ctx, "bob@example.com", by); leads.ErrorCode(err) != leads.ECONFLICT {
			t.Fatalf("removing the admin left: %v", err)
		}
		list, err := s.ListStaff(ctx)
		if err != nil || len(list) != 2 || list[0].Role != leads.RoleStaff || list[1].Role != leads.RoleAdmin {
			t.Fatalf("list: %+v %v", list, err)
		}
		got, err := s.FindStaff(ctx, second.ID)
		if err != nil || got.Email != "bob@example.com" || got.Role != leads.RoleAdmin {
			t.Fatalf("find: %+v %v", got, err)
		}
		if _, err := s.FindStaff(ctx, 999); leads.ErrorCode(err) != leads.ENOTFOUND {
			t.Fatalf("find unknown: %v", err)
		}
		entries, err := s.ListAudit(ctx, 50)
		if err != nil {
			t.Fatal(err)
		}
		roles := 0
		for _, e := range entries {
			if e.Action == leads.AuditStaffRole {
				roles++
			}
		}
		if roles != 2 {
			t.Fatalf("%d role changes audited, want 2", roles)
		}
	})
}

// TestBookingSettings: set, change and reset rules; the version moves
// with every change and only then, on this instance at once and on
// another eventually; each change is audited with its old and new value.
func TestBookingSettings(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		stores := openInstances(t, db, newClock())
		s := stores[0]
		got, v0, err := s.BookingSettings(ctx)
		if err != nil || len(got) != 0 {
			t.Fatalf("new database: %+v %v", got, err)
		}
		other := stores[1].BookingSettingsVersion()
		by := leads.Actor{Kind: "staff", ID: 7}
		if err := s.SetBookingSettings(ctx, map[string]string{"hours": "mon 09:00-10:00", "closed": ""}, nil, by); err != nil {
			t.Fatal(err)
		}
		v1 := s.BookingSettingsVersion()
		if v1 == v0 {
			t.Fatal("the version did not move at once on the writing instance")
		}
		got, v, err := s.BookingSettings(ctx)
		if err != nil || v != v1 || len(got) != 2 || got[0].Name != "closed" || got[0].Value != "" ||
			got[1].Name != "hours" || got[1].Value != "mon 09:00-10:00" || got[1].UpdatedBy != "staff:7" {
			t.Fatalf("stored: %+v v%d %v", got, v, err)
		}
		// The same values again change nothing, and the version stays.
		if err := s.SetBookingSettings(ctx, map[string]string{"hours": "mon 09:00-10:00", "closed": ""}, []string{"daily_cap"}, by); err != nil {
			t.Fatal(err)
		}
		if _, v, _ := s.BookingSettings(ctx); v != v1 {
			t.Fatalf("a change of nothing moved the version %d -> %d", v1, v)
		}
		if err := s.SetBookingSettings(ctx, map[string]string{"hours": "tue 09:00-10:00"}, []string{"closed"}, by); err != nil {
			t.Fatal(err)
		}
		got, v2, err := s.BookingSettings(ctx)
		if err != nil || v2 <= v1 || len(got) != 1 || got[0].Value != "tue 09:00-10:00" {
			t.Fatalf("after change and reset: %+v v%d %v", got, v2, err)
		}
		for _, bad := range []map[string]string{{"Hours": "x"}, {"hours": strings.Repeat("x", 65<<10)}, {"": "x"}} {
			if err := s.SetBookingSettings(ctx, bad, nil, by); leads.ErrorCode(err) != leads.EINVALID {
				t.Errorf("%v: %v", bad, err)
			}
		}
		if err := s.SetBookingSettings(ctx, map[string]string{"hours": "x"}, []string{"hours"}, by); leads.ErrorCode(err) != leads.EINVALID {
			t.Errorf("set and reset at once: %v", err)
		}
		entries, err := s.ListAudit(ctx, 50)
		if err != nil {
			t.Fatal(err)
		}
		var details []string
		for _, e := range entries {
			if e.Action == leads.AuditBookingSetting {
				details = append(details, e.Detail)
			}
		}
		want := []string{
			`{"from":"","name":"closed","to":""}`, `{"from":"","name":"hours","to":"mon 09:00-10:00"}`,
			`{"from":"mon 09:00-10:00","name":"hours","to":"tue 09:00-10:00"}`, `{"from":"","name":"closed","to":""}`,
		}
		if len(details) != len(want) {
			t.Fatalf("audited %q", details)
		}
		for _, w := range want {
			if !strings.Contains(strings.Join(details, "\n"), w) {
				t.Errorf("no audit entry %s in %q", w, details)
			}
		}
		// Not a timing assertion: the deadline only stops a broken test
		// from hanging.
		deadline := time.Now().Add(30 * time.Second)
		for stores[1].BookingSettingsVersion() == other {
			if time.Now().After(deadline) {
				t.Fatal("another instance never saw the settings' version")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// TestSetBookingSettingsFrom refuses a change made from settings that
// another instance has changed since (a list edited as a whole would
// otherwise drop that change), and then has the refused instance read the
// newest: a change made from those is stored.
func TestSetBookingSettingsFrom(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		stores := openInstances(t, db, newClock())
		a, b := stores[0], stores[1]
		by := leads.Actor{Kind: "staff", ID: 7}
		_, v0, err := a.BookingSettings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.SetBookingSettingsFrom(ctx, v0, map[string]string{"questions": "[b]"}, nil, by); err != nil {
			t.Fatalf("a change from the newest: %v", err)
		}
		err = a.SetBookingSettingsFrom(ctx, v0, map[string]string{"questions": "[a]"}, nil, by)
		if !errors.Is(err, leads.ErrSettingsChanged) || leads.ErrorCode(err) != leads.ECONFLICT {
			t.Fatalf("a change from replaced settings: %v, want ErrSettingsChanged", err)
		}
		got, v1, err := a.BookingSettings(ctx)
		if err != nil || len(got) != 1 || got[0].Value != "[b]" {
			t.Fatalf("after the refusal: %+v %v, want b's questions", got, err)
		}
		if a.BookingSettingsVersion() != v1 {
			t.Errorf("the refused instance's version %d, want the newest %d", a.BookingSettingsVersion(), v1)
		}
		if err := a.SetBookingSettingsFrom(ctx, v1, map[string]string{"questions": "[a]"}, nil, by); err != nil {
			t.Fatalf("a change from the newest: %v", err)
		}
		if err := b.SetBookingSettings(ctx, map[string]string{"questions": "[c]"}, nil, by); err != nil {
			t.Fatalf("a change from no version: %v", err)
		}
	})
}
