package leads_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/leads/leadstest"
)

func ptr[T any](v T) *T { return &v }

// pipelineFixture is a store with two staff accounts and two leads.
type pipelineFixture struct {
	s          *leads.Store
	c          *clock
	dana, eve  *leads.Staff
	ada, grace *leads.Lead
}

func newPipelineFixture(t *testing.T, db string) *pipelineFixture {
	t.Helper()
	ctx := context.Background()
	f := &pipelineFixture{c: newClock()}
	f.s = openStaffStore(t, db, f.c)
	var err error
	if f.dana, err = f.s.AddStaff(ctx, "dana@example.com", "a long enough password", leads.ActorCLI); err != nil {
		t.Fatal(err)
	}
	if f.eve, err = f.s.AddStaff(ctx, "eve@example.com", "a long enough password", leads.ActorCLI); err != nil {
		t.Fatal(err)
	}
	f.ada = validLead()
	if _, err := f.s.CreateLead(ctx, f.ada, nil); err != nil {
		t.Fatal(err)
	}
	f.c.Add(time.Minute)
	f.grace = validLead()
	f.grace.Name, f.grace.Email = "Grace Hopper", "grace@example.com"
	if _, err := f.s.CreateLead(ctx, f.grace, nil); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *pipelineFixture) actor(st *leads.Staff) leads.Actor {
	return leads.Actor{Kind: "staff", ID: st.ID}
}

func TestUpdateLeadPipelineRecordsTimelineAndAudit(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		f := newPipelineFixture(t, db)
		if f.ada.Status != leads.StatusNew {
			t.Fatalf("a new lead's status is %q", f.ada.Status)
		}
		f.c.Add(time.Hour)
		up, err := f.s.UpdateLeadPipeline(ctx, f.ada.ID, leads.PipelineChange{
			Status: ptr(leads.StatusContacted), OwnerID: ptr(f.eve.ID), NextStepAt: ptr("2026-03-09"), Note: "Called,  left\r\na message.",
		}, f.actor(f.dana))
		if err != nil {
			t.Fatal(err)
		}
		l := up.Lead
		if l.Status != leads.StatusContacted || l.OwnerID != f.eve.ID || l.OwnerEmail != "eve@example.com" || l.NextStepAt != "2026-03-09" ||
			!l.UpdatedAt.Equal(f.c.Now()) {
			t.Fatalf("lead after update = %+v", l)
		}
		if len(up.Events) != 4 {
			t.Fatalf("events = %+v, want status, owner, next step, note", up.Events)
		}
		got, err := f.s.FindLead(ctx, f.ada.ID)
		if err != nil || got.Status != leads.StatusContacted || got.OwnerID != f.eve.ID || got.NextStepAt != "2026-03-09" {
			t.Fatalf("FindLead = %+v, %v", got, err)
		}
		tl, err := f.s.LeadTimeline(ctx, f.ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct{ kind, old, new, body string }{
			{leads.EventNote, "", "", "Called,  left\na message."},
			{leads.EventNextStep, "", "2026-03-09", ""},
			{leads.EventOwner, "", "eve@example.com", ""},
			{leads.EventStatus, "new", "contacted", ""},
		}
		if len(tl) != len(want) {
			t.Fatalf("timeline = %+v", tl)
		}
		for i, w := range want {
			e := tl[i]
			if e.Kind != w.kind || e.Old != w.old || e.New != w.new || e.Body != w.body || e.Who() != "dana@example.com" ||
				!e.At.Equal(f.c.Now()) || e.LeadID != f.ada.ID {
				t.Errorf("timeline[%d] = %+v, want %+v", i, e, w)
			}
		}
		// The audit names the lead and what changed, not the note.
		entries, err := f.s.ListAudit(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		a := entries[0]
		if a.Action != leads.AuditLeadUpdate || a.Subject != "lead:"+itoa(f.ada.ID) || a.Actor != f.actor(f.dana).String() ||
			!strings.Contains(a.Detail, `"status":"contacted"`) || !strings.Contains(a.Detail, `"next_step_at":"2026-03-09"`) ||
			!strings.Contains(a.Detail, `"owner":"staff:`+itoa(f.eve.ID)+`"`) || strings.Contains(a.Detail, "message") {
			t.Fatalf("audit entry = %+v", a)
		}
		if _, err := f.s.VerifyAudit(ctx); err != nil {
			t.Fatal(err)
		}

		// The same values again change nothing and write nothing.
		f.c.Add(time.Hour)
		up, err = f.s.UpdateLeadPipeline(ctx, f.ada.ID, leads.PipelineChange{
			Status: ptr(leads.StatusContacted), OwnerID: ptr(f.eve.ID), NextStepAt: ptr("2026-03-09"),
		}, f.actor(f.dana))
		if err != nil || len(up.Events) != 0 || !up.Lead.UpdatedAt.Equal(l.UpdatedAt) {
			t.Fatalf("a change that changes nothing = %+v, %v", up, err)
		}
		if after, _ := f.s.ListAudit(ctx, 1); after[0].ID != a.ID {
			t.Fatalf("a change that changes nothing was audited: %+v", after[0])
		}

		// Lost with a reason; clearing the owner and the next step.
		up, err = f.s.UpdateLeadPipeline(ctx, f.ada.ID, leads.PipelineChange{
			Status: ptr(leads.StatusLost), LostReason: "Chose another firm", OwnerID: ptr(int64(0)), NextStepAt: ptr(""),
		}, f.actor(f.eve))
		if err != nil {
			t.Fatal(err)
		}
		if l := up.Lead; l.Status != leads.StatusLost || l.LostReason != "Chose another firm" || l.OwnerID != 0 || l.OwnerEmail != "" || l.NextStepAt != "" {
			t.Fatalf("lost lead = %+v", l)
		}
		if e := up.Events[0]; e.Kind != leads.EventStatus || e.New != leads.StatusLost || e.Body != "Chose another firm" {
			t.Fatalf("lost event = %+v", e)
		}
		// Leaving lost drops the reason.
		up, err = f.s.UpdateLeadPipeline(ctx, f.ada.ID, leads.PipelineChange{Status: ptr(leads.StatusQualified), LostReason: "ignored"}, f.actor(f.eve))
		if err != nil || up.Lead.LostReason != "" || up.Lead.Status != leads.StatusQualified {
			t.Fatalf("qualified again = %+v, %v", up, err)
		}

		// A note alone goes through the same method.
		up, err = f.s.AddLeadNote(ctx, f.grace.ID, "Met at the fair", f.actor(f.eve))
		if err != nil || len(up.Events) != 1 || up.Events[0].Kind != leads.EventNote || up.Lead.Status != leads.StatusNew {
			t.Fatalf("AddLeadNote = %+v, %v", up, err)
		}
		if _, err := f.s.VerifyAudit(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestUpdateLeadPipelineRefusesBadInput(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		f := newPipelineFixture(t, db)
		for _, tc := range []struct {
			name  string
			ch    leads.PipelineChange
			field string
		}{
			{"unknown status", leads.PipelineChange{Status: ptr("maybe")}, "status"},
			{"lost without reason", leads.PipelineChange{Status: ptr(leads.StatusLost), LostReason: "  "}, "lost_reason"},
			{"long reason", leads.PipelineChange{Status: ptr(leads.StatusLost), LostReason: strings.Repeat("x", leads.MaxLostReason+1)}, "lost_reason"},
			{"bad day", leads.PipelineChange{NextStepAt: ptr("9/3/2026")}, "next_step_at"},
			{"day out of range", leads.PipelineChange{NextStepAt: ptr("0001-01-01")}, "next_step_at"},
			{"unknown owner", leads.PipelineChange{OwnerID: ptr(int64(999))}, "owner"},
			{"nothing", leads.PipelineChange{Note: " \n "}, "note"},
			{"long note", leads.PipelineChange{Note: strings.Repeat("x", leads.MaxNote+1)}, "note"},
		} {
			_, err := f.s.UpdateLeadPipeline(ctx, f.ada.ID, tc.ch, f.actor(f.dana))
			var le *leads.Error
			if leads.ErrorCode(err) != leads.EINVALID || !asError(err, &le) || le.Fields[tc.field] == "" {
				t.Errorf("%s: err = %v, want a message for %s", tc.name, err, tc.field)
			}
		}
		if _, err := f.s.AddLeadNote(ctx, 999, "note", f.actor(f.dana)); leads.ErrorCode(err) != leads.ENOTFOUND {
			t.Errorf("unknown lead: %v", err)
		}
		if _, err := f.s.LeadTimeline(ctx, 999); leads.ErrorCode(err) != leads.ENOTFOUND {
			t.Errorf("timeline of an unknown lead: %v", err)
		}
		if tl, err := f.s.LeadTimeline(ctx, f.ada.ID); err != nil || len(tl) != 0 {
			t.Fatalf("refused changes left a timeline: %+v, %v", tl, err)
		}
		if l, _ := f.s.FindLead(ctx, f.ada.ID); l.Status != leads.StatusNew || l.OwnerID != 0 || l.NextStepAt != "" {
			t.Fatalf("refused changes changed the lead: %+v", l)
		}
	})
}

func TestListLeadsPipelineFiltersAndNextStepOrder(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		f := newPipelineFixture(t, db)
		// Four more leads: ids in creation order after ada and grace.
		var more []*leads.Lead
		for _, name := range []string{"Carol", "Dave", "Erin", "Frank"} {
			f.c.Add(time.Minute)
			l := validLead()
			l.Name, l.Email = name, strings.ToLower(name)+"@example.com"
			if _, err := f.s.CreateLead(ctx, l, nil); err != nil {
				t.Fatal(err)
			}
			more = append(more, l)
		}
		set := func(l *leads.Lead, ch leads.PipelineChange) {
			t.Helper()
			if _, err := f.s.UpdateLeadPipeline(ctx, l.ID, ch, f.actor(f.dana)); err != nil {
				t.Fatal(err)
			}
		}
		set(f.ada, leads.PipelineChange{Status: ptr(leads.StatusQualified), OwnerID: ptr(f.dana.ID), NextStepAt: ptr("2026-03-20")})
		set(f.grace, leads.PipelineChange{Status: ptr(leads.StatusQualified), OwnerID: ptr(f.eve.ID), NextStepAt: ptr("2026-03-05")})
		set(more[0], leads.PipelineChange{OwnerID: ptr(f.dana.ID), NextStepAt: ptr("2026-03-05")})
		set(more[1], leads.PipelineChange{Status: ptr(leads.StatusWon)})
		names := func(p leads.LeadPage) string {
			var out []string
			for _, l := range p.Leads {
				out = append(out, strings.Fields(l.Name)[0])
			}
			return strings.Join(out, ",")
		}
		for _, tc := range []struct {
			name string
			f    leads.LeadFilter
			want string
		}{
			{"qualified", leads.LeadFilter{Status: leads.StatusQualified}, "Grace,Ada"},
			{"won", leads.LeadFilter{Status: leads.StatusWon}, "Dave"},
			{"dana's", leads.LeadFilter{OwnerID: f.dana.ID}, "Carol,Ada"},
			{"dana's qualified", leads.LeadFilter{OwnerID: f.dana.ID, Status: leads.StatusQualified}, "Ada"},
			{"nobody's", leads.LeadFilter{Unowned: true}, "Frank,Erin,Dave"},
			{"by next step", leads.LeadFilter{Sort: leads.SortNextStep}, "Grace,Carol,Ada,Dave,Erin,Frank"},
			{"by next step, searched", leads.LeadFilter{Sort: leads.SortNextStep, Query: "grace"}, "Grace"},
			{"by next step, qualified", leads.LeadFilter{Sort: leads.SortNextStep, Status: leads.StatusQualified}, "Grace,Ada"},
			{"searched and owned", leads.LeadFilter{Query: "example", OwnerID: f.eve.ID}, "Grace"},
			{"address and status", leads.LeadFilter{Query: "dave@example.com", Status: leads.StatusNew}, ""},
		} {
			p, err := f.s.ListLeads(ctx, tc.f)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if got := names(p); got != tc.want {
				t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
			}
		}
		// Pages of two in the next-step order walk the whole order once.
		var all []string
		cursor := ""
		for range 5 {
			p, err := f.s.ListLeads(ctx, leads.LeadFilter{Sort: leads.SortNextStep, Limit: 2, Before: cursor})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, names(p))
			if cursor = p.Next; cursor == "" {
				break
			}
		}
		if got := strings.Join(all, ","); got != "Grace,Carol,Ada,Dave,Erin,Frank" {
			t.Fatalf("paged next-step order = %s", got)
		}
		if _, err := f.s.ListLeads(ctx, leads.LeadFilter{Status: "maybe"}); leads.ErrorCode(err) != leads.EINVALID {
			t.Fatalf("unknown status filter: %v", err)
		}
		o, err := f.s.Overview(ctx)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, c := range o.ByStatus {
			counts[c.Status] = c.Leads
		}
		if len(o.ByStatus) != 5 || o.ByStatus[0].Status != leads.StatusNew || counts["new"] != 3 || counts["qualified"] != 2 ||
			counts["won"] != 1 || counts["lost"] != 0 || counts["contacted"] != 0 {
			t.Fatalf("ByStatus = %+v", o.ByStatus)
		}
	})
}

func TestPipelineInCSVExport(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		f := newPipelineFixture(t, db)
		if _, err := f.s.UpdateLeadPipeline(ctx, f.ada.ID, leads.PipelineChange{
			Status: ptr(leads.StatusWon), OwnerID: ptr(f.eve.ID), NextStepAt: ptr("2026-04-01"),
		}, f.actor(f.dana)); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := f.s.ExportCSV(ctx, &buf, leads.ExportFilter{}, false); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(recs[0][:13], ","); got != "id,created_at,name,email,company,phone,message,source,consent_version,consent_at,status,owner,next_step_at" {
			t.Fatalf("header = %s", got)
		}
		if got := strings.Join(recs[1][10:13], ","); got != "won,eve@example.com,2026-04-01" {
			t.Errorf("ada's pipeline columns = %s", got)
		}
		if got := strings.Join(recs[2][10:13], ","); got != "new,," {
			t.Errorf("grace's pipeline columns = %s", got)
		}
	})
}

func TestPipelineAfterStaffRemoval(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		f := newPipelineFixture(t, db)
		if _, err := f.s.UpdateLeadPipeline(ctx, f.ada.ID, leads.PipelineChange{OwnerID: ptr(f.eve.ID), Note: "mine now"}, f.actor(f.eve)); err != nil {
			t.Fatal(err)
		}
		if err := f.s.RemoveStaff(ctx, "eve@example.com", leads.ActorCLI); err != nil {
			t.Fatal(err)
		}
		l, err := f.s.FindLead(ctx, f.ada.ID)
		if err != nil || l.OwnerID != 0 {
			t.Fatalf("lead of a removed owner = %+v, %v", l, err)
		}
		tl, err := f.s.LeadTimeline(ctx, f.ada.ID)
		if err != nil || len(tl) != 2 || tl[0].Who() != f.actor(f.eve).String() || tl[0].Body != "mine now" {
			t.Fatalf("timeline after removal = %+v, %v", tl, err)
		}
	})
}

func TestErasureAndRetentionTakeTheTimeline(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		ctx := context.Background()
		f := newPipelineFixture(t, db)
		note := func(l *leads.Lead, text string) {
			t.Helper()
			if _, err := f.s.AddLeadNote(ctx, l.ID, text, f.actor(f.dana)); err != nil {
				t.Fatal(err)
			}
		}
		note(f.ada, "Ada has a dog called Babbage")
		note(f.grace, "Grace knows ada@example.com from the fair")
		p, err := f.s.FindPerson(ctx, "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Timeline) != 1 || p.Timeline[0].Body != "Ada has a dog called Babbage" || p.Timeline[0].LeadID != f.ada.ID {
			t.Fatalf("subject access timeline = %+v", p.Timeline)
		}
		if _, err := f.s.EraseEmail(ctx, "ada@example.com", f.actor(f.dana), nil); err != nil {
			t.Fatal(err)
		}
		raw := leadstest.Raw(t, db)
		var n int
		if err := raw.QueryRow(`SELECT COUNT(*) FROM lead_events WHERE lead_id = $1`, f.ada.ID).Scan(&n); err != nil || n != 0 {
			t.Fatalf("erased lead's events = %d, %v", n, err)
		}
		tl, err := f.s.LeadTimeline(ctx, f.grace.ID)
		if err != nil || len(tl) != 1 || strings.Contains(tl[0].Body, "ada@example.com") || !strings.Contains(tl[0].Body, "from the fair") {
			t.Fatalf("a mention in another lead's note = %+v, %v", tl, err)
		}

		// Retention: a note is activity, and the purge takes the events.
		f.c.Add(40 * 24 * time.Hour)
		note(f.grace, "still interested")
		f.c.Add(20 * 24 * time.Hour)
		if k, err := f.s.PurgeExpired(ctx, 30); err != nil || k != 0 {
			t.Fatalf("purge of a lead with a recent note = %d, %v", k, err)
		}
		f.c.Add(20 * 24 * time.Hour)
		if k, err := f.s.PurgeExpired(ctx, 30); err != nil || k != 1 {
			t.Fatalf("purge = %d, %v", k, err)
		}
		if err := raw.QueryRow(`SELECT COUNT(*) FROM lead_events`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("events after the purge = %d, %v", n, err)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestCopyToPostgresKeepsThePipeline copies a lead with an owner and a
// timeline: the leads are written before the staff accounts they point to.
func TestCopyToPostgresKeepsThePipeline(t *testing.T) {
	ctx := context.Background()
	f := newPipelineFixture(t, leadstest.DB(t, "sqlite"))
	dst := leadstest.DB(t, "postgres")
	if _, err := f.s.UpdateLeadPipeline(ctx, f.ada.ID, leads.PipelineChange{
		Status: ptr(leads.StatusWon), OwnerID: ptr(f.eve.ID), NextStepAt: ptr("2026-05-01"), Note: "signed",
	}, f.actor(f.dana)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.CopyTo(ctx, dst); err != nil {
		t.Fatal(err)
	}
	to := openStaffStore(t, dst, f.c)
	l, err := to.FindLead(ctx, f.ada.ID)
	if err != nil || l.Status != leads.StatusWon || l.OwnerEmail != "eve@example.com" || l.NextStepAt != "2026-05-01" {
		t.Fatalf("copied lead = %+v, %v", l, err)
	}
	tl, err := to.LeadTimeline(ctx, f.ada.ID)
	if err != nil || len(tl) != 4 || tl[0].Body != "signed" || tl[0].Who() != "dana@example.com" {
		t.Fatalf("copied timeline = %+v, %v", tl, err)
	}
	// New events get ids after the copied ones.
	up, err := to.AddLeadNote(ctx, f.ada.ID, "after the move", f.actor(f.dana))
	if err != nil || up.Events[0].ID <= tl[0].ID {
		t.Fatalf("a note after the copy = %+v, %v", up, err)
	}
}
