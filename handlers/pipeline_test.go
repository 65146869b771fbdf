package handlers_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"leadbook/leads"
)

// pipelineJSON posts a JSON body as a signed-in script in the browser's
// origin would.
func (a *app) pipelineJSON(path, body string, c *http.Cookie) *httptest.ResponseRecorder {
	a.t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(c)
	return a.do(req)
}

func staffID(t *testing.T, a *app, email string) int64 {
	t.Helper()
	list, err := a.store.ListStaff(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range list {
		if st.Email == email {
			return st.ID
		}
	}
	t.Fatalf("no account %s", email)
	return 0
}

func TestLeadPipelineForm(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	c := a.login("")
	l := a.seedLead("Ada Lovelace", "ada@example.com")
	dana := strconv.FormatInt(staffID(t, a, staffEmail), 10)
	path := "/staff/leads/" + strconv.FormatInt(l.ID, 10)

	rec := a.staffPost(path+"/pipeline", url.Values{"status": {"qualified"}, "lost_reason": {""}, "owner": {dana}, "next_step_at": {"2026-03-09"}}, c)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != path+"?notice=updated" {
		t.Fatalf("pipeline form: %d %s %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	got, err := a.store.FindLead(context.Background(), l.ID)
	if err != nil || got.Status != "qualified" || got.OwnerEmail != staffEmail || got.NextStepAt != "2026-03-09" {
		t.Fatalf("lead = %+v, %v", got, err)
	}
	rec = a.staffPost(path+"/notes", url.Values{"note": {"Wants a <b>quote</b> by Friday"}}, c)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("note form: %d %s", rec.Code, rec.Body)
	}
	page := a.staffGet(path+"?notice=updated", c).Body.String()
	for _, want := range []string{"Saved.", "status new → qualified", "next step none → 2026-03-09", "owner nobody → " + staffEmail,
		html.EscapeString("Wants a <b>quote</b> by Friday"), `<option value="qualified" selected>`, `value="2026-03-09"`} {
		if !strings.Contains(page, want) {
			t.Errorf("lead page lacks %q", want)
		}
	}
	if strings.Contains(page, "<b>quote</b>") {
		t.Error("the note was not escaped")
	}

	// Refused: 422, the page again with what was typed and the field's message.
	rec = a.staffPost(path+"/pipeline", url.Values{"status": {"lost"}, "lost_reason": {""}, "owner": {""}, "next_step_at": {"2026-13-40"}}, c)
	body := rec.Body.String()
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, "Please say why the lead was lost.") ||
		!strings.Contains(body, "Please enter a date as YYYY-MM-DD.") || !strings.Contains(body, `<option value="lost" selected>`) ||
		!strings.Contains(body, `value="2026-13-40"`) || !strings.Contains(body, `<option value="" selected>Nobody</option>`) ||
		!strings.Contains(body, `aria-describedby="lost_reason-error"`) {
		t.Fatalf("refused pipeline form: %d %s", rec.Code, body)
	}
	rec = a.staffPost(path+"/pipeline", url.Values{"status": {"won"}, "owner": {"nobody"}, "next_step_at": {""}}, c)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "Please choose an owner from the list.") {
		t.Fatalf("bad owner: %d", rec.Code)
	}
	rec = a.staffPost(path+"/notes", url.Values{"note": {strings.Repeat("x", leads.MaxNote+1)}}, c)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "Please keep this under 5001 characters.") ||
		!strings.Contains(rec.Body.String(), strings.Repeat("x", 100)) {
		t.Fatalf("long note: %d", rec.Code)
	}
	if got, _ := a.store.FindLead(context.Background(), l.ID); got.Status != "qualified" || got.NextStepAt != "2026-03-09" {
		t.Fatalf("a refused form changed the lead: %+v", got)
	}
	if rec := a.staffPost("/staff/leads/999/notes", url.Values{"note": {"x"}}, c); rec.Code != http.StatusNotFound {
		t.Fatalf("note on an unknown lead: %d", rec.Code)
	}

	// Every change is in the audit log.
	entries, err := a.store.ListAudit(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Action == leads.AuditLeadUpdate && e.Subject == "lead:"+strconv.FormatInt(l.ID, 10) {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d audit entries of the lead's changes, want 2", n)
	}
}

func TestLeadPipelineJSON(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	c := a.login("")
	l := a.seedLead("Ada Lovelace", "ada@example.com")
	dana := staffID(t, a, staffEmail)
	path := "/staff/leads/" + strconv.FormatInt(l.ID, 10)

	rec := a.pipelineJSON(path+"/pipeline", `{"status":"contacted","owner":`+strconv.FormatInt(dana, 10)+`}`, c)
	var got struct {
		Status     string            `json:"status"`
		Owner      *string           `json:"owner"`
		NextStepAt *string           `json:"next_step_at"`
		Events     []leads.LeadEvent `json:"events"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &got) != nil || got.Status != "contacted" || got.Owner == nil ||
		*got.Owner != staffEmail || got.NextStepAt != nil || len(got.Events) != 2 {
		t.Fatalf("JSON pipeline: %d %s", rec.Code, rec.Body)
	}
	// Fields left out stay; null clears.
	rec = a.pipelineJSON(path+"/pipeline", `{"next_step_at":"2026-04-01"}`, c)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"status":"contacted"`) || !strings.Contains(rec.Body.String(), `"next_step_at":"2026-04-01"`) {
		t.Fatalf("JSON next step: %d %s", rec.Code, rec.Body)
	}
	rec = a.pipelineJSON(path+"/pipeline", `{"owner":null}`, c)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"owner":null`) {
		t.Fatalf("JSON owner null: %d %s", rec.Code, rec.Body)
	}
	rec = a.pipelineJSON(path+"/notes", `{"note":"Sent the deck"}`, c)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"body":"Sent the deck"`) {
		t.Fatalf("JSON note: %d %s", rec.Code, rec.Body)
	}
	for _, tc := range []struct{ path, body, field string }{
		{"/pipeline", `{"status":"lost"}`, "lost_reason"},
		{"/pipeline", `{"status":"maybe"}`, "status"},
		{"/pipeline", `{"owner":"x"}`, "owner"},
		{"/pipeline", `{"owner":4242}`, "owner"},
		{"/pipeline", `{"next_step_at":"tomorrow"}`, "next_step_at"},
		{"/pipeline", `{}`, "note"},
		{"/notes", `{"note":""}`, "note"},
	} {
		rec := a.pipelineJSON(path+tc.path, tc.body, c)
		var e struct {
			Fields map[string]string `json:"fields"`
		}
		if rec.Code != http.StatusUnprocessableEntity || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Fields[tc.field] == "" {
			t.Errorf("%s %s: %d %s", tc.path, tc.body, rec.Code, rec.Body)
		}
	}
	// Cross-site: refused before anything is read.
	for _, p := range []string{"/pipeline", "/notes"} {
		req := httptest.NewRequest(http.MethodPost, path+p, strings.NewReader(`{"status":"won","note":"x"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.AddCookie(c)
		if rec := a.do(req); rec.Code != http.StatusForbidden {
			t.Errorf("cross-site %s: %d", p, rec.Code)
		}
		form := httptest.NewRequest(http.MethodPost, path+p, strings.NewReader("status=won&note=x"))
		form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		form.Header.Set("Origin", "https://evil.example")
		form.AddCookie(c)
		if rec := a.do(form); rec.Code != http.StatusForbidden {
			t.Errorf("cross-origin form %s: %d", p, rec.Code)
		}
	}
	if got, _ := a.store.FindLead(context.Background(), l.ID); got.Status != "contacted" {
		t.Fatalf("a refused request changed the lead: %+v", got)
	}
}

func TestLeadsListPipelineFiltersAndOverview(t *testing.T) {
	a := newApp(t, options{})
	a.addStaff()
	c := a.login("")
	ctx := context.Background()
	other, err := a.store.AddStaff(ctx, "eve@consult.example", staffPassword, leads.ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	dana := staffID(t, a, staffEmail)
	ada := a.seedLead("Ada Lovelace", "ada@example.com")
	grace := a.seedLead("Grace Hopper", "grace@example.com")
	a.seedLead("Carol Shaw", "carol@example.com")
	set := func(l *leads.Lead, ch leads.PipelineChange) {
		t.Helper()
		if _, err := a.store.UpdateLeadPipeline(ctx, l.ID, ch, leads.ActorCLI); err != nil {
			t.Fatal(err)
		}
	}
	won, qualified := "won", "qualified"
	d1, d2 := "2026-03-20", "2026-03-05"
	set(ada, leads.PipelineChange{Status: &won, OwnerID: &dana, NextStepAt: &d1})
	set(grace, leads.PipelineChange{Status: &qualified, OwnerID: &other.ID, NextStepAt: &d2})
	rows := func(path string) string {
		t.Helper()
		rec := a.staffGet(path, c)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", path, rec.Code)
		}
		var out []string
		body := rec.Body.String()
		for _, name := range []string{"Ada Lovelace", "Grace Hopper", "Carol Shaw"} {
			if i := strings.Index(body, `<td data-label="Name">`+name+"</td>"); i >= 0 {
				out = append(out, strconv.Itoa(i)+":"+name)
			}
		}
		// In page order.
		for i := range out {
			for j := i + 1; j < len(out); j++ {
				a, _ := strconv.Atoi(strings.SplitN(out[i], ":", 2)[0])
				b, _ := strconv.Atoi(strings.SplitN(out[j], ":", 2)[0])
				if b < a {
					out[i], out[j] = out[j], out[i]
				}
			}
		}
		for i := range out {
			out[i] = strings.SplitN(out[i], ":", 2)[1]
		}
		return strings.Join(out, ",")
	}
	for path, want := range map[string]string{
		"/staff/leads":                         "Carol Shaw,Grace Hopper,Ada Lovelace",
		"/staff/leads?status=won":              "Ada Lovelace",
		"/staff/leads?owner=me":                "Ada Lovelace",
		"/staff/leads?owner=none":              "Carol Shaw",
		"/staff/leads?owner=" + itoa(other.ID): "Grace Hopper",
		"/staff/leads?sort=next_step":          "Grace Hopper,Ada Lovelace,Carol Shaw",
		"/staff/leads?sort=next_step&owner=me": "Ada Lovelace",
	} {
		if got := rows(path); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
	for _, bad := range []string{"/staff/leads?status=maybe", "/staff/leads?owner=x"} {
		if rec := a.staffGet(bad, c); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, rec.Code)
		}
	}
	home := a.staffGet("/staff", c).Body.String()
	for _, want := range []string{`<a href="/staff/leads?status=new"><strong>1</strong> new</a>`, `<a href="/staff/leads?status=won"><strong>1</strong> won</a>`,
		`<a href="/staff/leads?status=qualified"><strong>1</strong> qualified</a>`, `<a href="/staff/leads?status=lost"><strong>0</strong> lost</a>`} {
		if !strings.Contains(home, want) {
			t.Errorf("overview lacks %s", want)
		}
	}
	// The export carries the pipeline, the owner as the account's address.
	rec := a.staffGet("/staff/leads.csv", c)
	recs, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || strings.Join(recs[1][10:13], ",") != "won,"+staffEmail+","+d1 || strings.Join(recs[2][10:13], ",") != "qualified,eve@consult.example,"+d2 ||
		strings.Join(recs[3][10:13], ",") != "new,," {
		t.Fatalf("export = %q", recs)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
