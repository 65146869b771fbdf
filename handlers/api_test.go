package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"leadbook/handlers"
	"leadbook/leads"
)

// apiChecker validates requests' answers against handlers.OpenAPI.
type apiChecker struct {
	t      *testing.T
	doc    *openapi3.T
	router routers.Router
}

func newAPIChecker(t *testing.T) *apiChecker {
	t.Helper()
	ctx := context.Background()
	doc, err := openapi3.NewLoader().LoadFromData(handlers.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &apiChecker{t: t, doc: doc, router: r}
}

// check fails the test unless the answer is one the document describes
// for the request, status included.
func (ac *apiChecker) check(req *http.Request, rec *httptest.ResponseRecorder) {
	ac.t.Helper()
	route, params, err := ac.router.FindRoute(req)
	if err != nil {
		ac.t.Fatalf("%s %s is not in the document: %v", req.Method, req.URL, err)
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 rec.Code, Header: rec.Header(), Options: opts,
	}
	in.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		ac.t.Fatalf("%s %s answered %d %s, not as documented: %v", req.Method, req.URL, rec.Code, rec.Body, err)
	}
}

// checkWebhook fails the test unless body is what the document's
// webhooks section says the event's request body is.
func (ac *apiChecker) checkWebhook(body []byte) {
	ac.t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		ac.t.Fatal(err)
	}
	event, _ := v["type"].(string)
	item, ok := ac.doc.Webhooks[event]
	if !ok {
		ac.t.Fatalf("webhook %q is not in the document", event)
	}
	schema := item.Post.RequestBody.Value.Content.Get("application/json").Schema.Value
	if err := schema.VisitJSON(v); err != nil {
		ac.t.Fatalf("webhook body %s is not as documented: %v", body, err)
	}
}

func (a *app) apiGet(ac *apiChecker, path, token string) *httptest.ResponseRecorder {
	a.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := a.do(req)
	if ac != nil {
		ac.check(req, rec)
	}
	return rec
}

func (a *app) apiPatch(ac *apiChecker, path, token, body string) *httptest.ResponseRecorder {
	a.t.Helper()
	req := httptest.NewRequest(http.MethodPatch, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	rec := a.do(req)
	ac.check(req, rec)
	return rec
}

func TestAPIAnswersMatchTheDocument(t *testing.T) {
	ac := newAPIChecker(t)
	a := newApp(t, options{})
	ctx := context.Background()
	token, _, err := a.store.CreateToken(ctx, "script", leads.ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.store.AddWebhook(ctx, "https://hooks.example.com/", leads.WebhookEvents, leads.ActorCLI); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range 5 {
		ids = append(ids, a.seedLead(fmt.Sprintf("Person %d", i), fmt.Sprintf("p%d@example.com", i)).ID)
		a.clock.Add(time.Second)
	}
	start := time.Date(2026, 3, 10, 13, 0, 0, 0, time.UTC)
	b, _, err := a.store.CreateBooking(ctx, &leads.NewBooking{
		Lead:  leads.Lead{Name: "Grace Hopper", Email: "grace@example.com", ConsentVersion: "v1"},
		Start: start, End: start.Add(30 * time.Minute), Timezone: "Europe/Berlin", UID: "u1", TokenHash: "h1",
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}

	// Every lead once, in the order they changed, page by page.
	var got []int64
	next := "/api/v1/leads?limit=2"
	for pages := 0; next != ""; pages++ {
		rec := a.apiGet(ac, next, token)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", next, rec.Code, rec.Body)
		}
		var page struct {
			Data []struct {
				ID int64 `json:"id"`
			} `json:"data"`
			NextCursor *string `json:"next_cursor"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
			t.Fatal(err)
		}
		for _, l := range page.Data {
			got = append(got, l.ID)
		}
		next = ""
		if page.NextCursor != nil {
			next = "/api/v1/leads?limit=2&cursor=" + url.QueryEscape(*page.NextCursor)
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	want := append(ids, b.LeadID)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("leads %v, want %v", got, want)
	}

	since := url.QueryEscape(time.Date(2026, 3, 2, 9, 0, 3, 0, time.UTC).Format(time.RFC3339))
	rec := a.apiGet(ac, "/api/v1/leads?updated_since="+since, token)
	if n := strings.Count(rec.Body.String(), `"id":`); rec.Code != 200 || n != 3 {
		t.Fatalf("updated_since: %d, %d leads: %s", rec.Code, n, rec.Body)
	}
	rec = a.apiGet(ac, fmt.Sprintf("/api/v1/leads/%d", ids[0]), token)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"email":"p0@example.com"`) {
		t.Fatalf("one lead: %d %s", rec.Code, rec.Body)
	}
	rec = a.apiGet(ac, "/api/v1/bookings", token)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"status":"confirmed"`) || strings.Contains(rec.Body.String(), "h1") {
		t.Fatalf("bookings: %d %s", rec.Code, rec.Body)
	}
	rec = a.apiGet(ac, fmt.Sprintf("/api/v1/bookings/%d", b.ID), token)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"start":"2026-03-10T13:00:00Z"`) {
		t.Fatalf("one booking: %d %s", rec.Code, rec.Body)
	}
	// After the call, what staff marked is the booking's status.
	a.clock.Add(10 * 24 * time.Hour)
	if _, err := a.store.SetBookingOutcome(context.Background(), b.ID, leads.OutcomeNoShow, leads.Actor{Kind: "staff", ID: 1}); err != nil {
		t.Fatal(err)
	}
	rec = a.apiGet(ac, fmt.Sprintf("/api/v1/bookings/%d", b.ID), token)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"status":"no_show"`) {
		t.Fatalf("a no-show call: %d %s", rec.Code, rec.Body)
	}
	a.clock.Add(-10 * 24 * time.Hour)
	for path, code := range map[string]int{
		"/api/v1/leads/999":                        http.StatusNotFound,
		"/api/v1/bookings/999":                     http.StatusNotFound,
		"/api/v1/leads/0":                          http.StatusBadRequest,
		"/api/v1/leads?cursor=nonsense!":           http.StatusBadRequest,
		"/api/v1/leads?limit=501":                  http.StatusBadRequest,
		"/api/v1/bookings?updated_since=yesterday": http.StatusBadRequest,
	} {
		if rec := a.apiGet(ac, path, token); rec.Code != code {
			t.Errorf("%s: %d, want %d: %s", path, rec.Code, code, rec.Body)
		}
	}
	for _, path := range []string{"/api/v1/leads", "/api/v1/bookings/1"} {
		if rec := a.apiGet(ac, path, ""); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d", path, rec.Code)
		}
		if rec := a.apiGet(ac, path, leads.TokenPrefix+"wrong"); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %d", path, rec.Code)
		}
	}
	// A write token changes a lead's pipeline; the answer is the lead as
	// GET gives it, and the lists show the owner too.
	a.addStaff()
	write, _, err := a.store.CreateScopedToken(ctx, "writer", leads.ScopeWrite, leads.ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	lead := fmt.Sprintf("/api/v1/leads/%d", ids[1])
	rec = a.apiPatch(ac, lead, write, `{"status":"qualified","owner":"`+strings.ToUpper(staffEmail)+`","next_step_at":"2026-04-01","note":"Called."}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"status":"qualified"`) ||
		!strings.Contains(rec.Body.String(), `"owner":"`+staffEmail+`"`) || !strings.Contains(rec.Body.String(), `"next_step_at":"2026-04-01"`) {
		t.Fatalf("PATCH: %d %s", rec.Code, rec.Body)
	}
	if got := a.apiGet(ac, lead, token); got.Body.String() != rec.Body.String() {
		t.Fatalf("GET after PATCH %s, PATCH answered %s", got.Body, rec.Body)
	}
	if rec := a.apiGet(ac, "/api/v1/leads?limit=500", token); !strings.Contains(rec.Body.String(), `"owner":"`+staffEmail+`"`) {
		t.Fatalf("the list does not show the owner: %s", rec.Body)
	}
	if tl, err := a.store.LeadTimeline(ctx, ids[1]); err != nil || len(tl) != 4 || !strings.HasPrefix(tl[0].Actor, "token") {
		t.Fatalf("timeline after PATCH: %+v %v", tl, err)
	}
	rec = a.apiPatch(ac, lead, write, `{"owner":null,"next_step_at":null}`)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"owner":null`) || !strings.Contains(rec.Body.String(), `"next_step_at":null`) {
		t.Fatalf("PATCH clearing: %d %s", rec.Code, rec.Body)
	}
	if rec := a.apiPatch(ac, lead, token, `{"status":"won"}`); rec.Code != http.StatusForbidden {
		t.Fatalf("PATCH with a read token: %d %s", rec.Code, rec.Body)
	}
	if rec := a.apiPatch(ac, "/api/v1/leads/999", write, `{"status":"won"}`); rec.Code != http.StatusNotFound {
		t.Fatalf("PATCH an unknown lead: %d %s", rec.Code, rec.Body)
	}
	for body, field := range map[string]string{
		`{"status":"maybe"}`:                                      "status",
		`{"status":"lost"}`:                                       "lost_reason",
		`{"next_step_at":"tomorrow"}`:                             "next_step_at",
		`{"owner":"nobody@example.com"}`:                          "owner",
		`{"note":"` + strings.Repeat("x", leads.MaxNote+1) + `"}`: "note",
		`{}`: "note",
	} {
		rec := a.apiPatch(ac, lead, write, body)
		var answer struct {
			Fields map[string]string `json:"fields"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); rec.Code != http.StatusUnprocessableEntity || err != nil || answer.Fields[field] == "" {
			t.Errorf("PATCH %.40s: %d %s, want 422 naming %s", body, rec.Code, rec.Body, field)
		}
	}
	if l, _ := a.store.FindLead(ctx, ids[1]); l.Status != leads.StatusQualified || l.OwnerID != 0 {
		t.Fatalf("a refused PATCH changed the lead: %+v", l)
	}
	// Cancel the booking too; then every webhook body queued is checked.
	if _, err := a.store.CancelBooking(ctx, "h1", nil); err != nil {
		t.Fatal(err)
	}
	hooks, err := a.store.WebhookDeliveries(ctx, 1, 100)
	if err != nil || len(hooks) != 10 {
		t.Fatalf("%d webhook deliveries, want 10 (6 leads, a booking, its cancellation, two PATCHes): %v", len(hooks), err)
	}
	for _, m := range hooks {
		ac.checkWebhook(m.Payload)
	}
	rec = a.apiGet(ac, "/api/v1/openapi.json", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"openapi": "3.1.0"`) {
		t.Fatalf("document: %d", rec.Code)
	}
}

// Tokens read the API; a write token changes a lead, a read token changes
// nothing; no token reaches the staff pages or the webhook admin, whatever
// its scope.
func TestAPITokenScopes(t *testing.T) {
	a := newApp(t, options{})
	ctx := context.Background()
	a.addStaff()
	l := a.seedLead("Ada", "ada@example.com")
	read, _, err := a.store.CreateToken(ctx, "reader", leads.ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	write, _, err := a.store.CreateScopedToken(ctx, "writer", leads.ScopeWrite, leads.ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.store.AddWebhook(ctx, "https://hooks.example.com/", leads.WebhookEvents, leads.ActorCLI); err != nil {
		t.Fatal(err)
	}
	try := func(method, path, token string) int {
		req := httptest.NewRequest(method, path, strings.NewReader(`{"status":"won","url":"https://evil.example/"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		return a.do(req).Code
	}
	for _, tok := range []string{read, write} {
		if code := try("GET", fmt.Sprintf("/api/v1/leads/%d", l.ID), tok); code != http.StatusOK {
			t.Errorf("GET a lead: %d", code)
		}
		want := http.StatusForbidden
		if tok == write {
			want = http.StatusOK
		}
		if code := try("PATCH", fmt.Sprintf("/api/v1/leads/%d", l.ID), tok); code != want {
			t.Errorf("PATCH a lead: %d, want %d", code, want)
		}
		for _, r := range [][2]string{
			{"GET", "/staff"}, {"GET", "/staff/webhooks"}, {"POST", "/staff/webhooks"}, {"POST", "/staff/webhooks/1/remove"},
			{"POST", "/staff/webhooks/1/test"}, {"POST", "/staff/outbox/1/retry"}, {"GET", "/staff/leads/1"},
		} {
			if code := try(r[0], r[1], tok); code != http.StatusForbidden {
				t.Errorf("%s %s with a token: %d, want 403", r[0], r[1], code)
			}
		}
	}
	if eps, _ := a.store.ListWebhooks(ctx); len(eps) != 1 || eps[0].Status != leads.WebhookEnabled {
		t.Fatalf("a token changed the webhooks: %+v", eps)
	}
	if n := a.count(`SELECT COUNT(*) FROM outbox WHERE kind = 'webhook' AND payload LIKE '%webhook.test%'`); n != 0 {
		t.Fatalf("a token queued %d test events", n)
	}
}

func TestStaffWebhooksPage(t *testing.T) {
	a := newApp(t, options{})
	ctx := context.Background()
	a.addStaff()
	c := a.login("")

	// A loopback target is refused, the form keeps what was typed.
	rec := a.staffPost("/staff/webhooks", url.Values{"url": {"http://127.0.0.1:9/hook"}, "events": {"lead.created"}}, c)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "LEADBOOK_WEBHOOK_ALLOW_PRIVATE") ||
		!strings.Contains(rec.Body.String(), `value="http://127.0.0.1:9/hook"`) {
		t.Fatalf("loopback target: %d %s", rec.Code, rec.Body)
	}
	if eps, _ := a.store.ListWebhooks(ctx); len(eps) != 0 {
		t.Fatalf("a refused endpoint was stored: %+v", eps)
	}
	rec = a.staffPost("/staff/webhooks", url.Values{"url": {"https://203.0.113.10/hook"}, "events": {"booking.created", "lead.created"}}, c)
	if rec.Code != http.StatusOK {
		t.Fatalf("add: %d %s", rec.Code, rec.Body)
	}
	eps, _ := a.store.ListWebhooks(ctx)
	if len(eps) != 1 || fmt.Sprint(eps[0].Events) != "[booking.created lead.created]" {
		t.Fatalf("endpoints %+v", eps)
	}
	_, secret, err := a.store.WebhookTarget(ctx, eps[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html.UnescapeString(rec.Body.String()), secret) {
		t.Fatal("the secret is not shown when the endpoint is added")
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q on the page with the secret", cc)
	}
	rec = a.staffPost(fmt.Sprintf("/staff/webhooks/%d/test", eps[0].ID), nil, c)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("test: %d %s", rec.Code, rec.Body)
	}
	page := a.staffGet("/staff/webhooks", c)
	if body := html.UnescapeString(page.Body.String()); page.Code != 200 || strings.Contains(body, strings.TrimPrefix(secret, "whsec_")[:20]) {
		t.Fatalf("the list shows the secret again (or failed: %d)", page.Code)
	}
	if !strings.Contains(page.Body.String(), "webhook.test") || !strings.Contains(page.Body.String(), "203.0.113.10") {
		t.Fatalf("the list does not show the endpoint and its test delivery: %s", page.Body)
	}
	if rec := a.staffPost(fmt.Sprintf("/staff/webhooks/%d/disable", eps[0].ID), nil, c); rec.Code != http.StatusSeeOther {
		t.Fatalf("disable: %d", rec.Code)
	}
	if ep, _ := a.store.FindWebhook(ctx, eps[0].ID); ep.Status != leads.WebhookDisabled {
		t.Fatalf("after disable: %+v", ep)
	}
	if rec := a.staffPost(fmt.Sprintf("/staff/webhooks/%d/remove", eps[0].ID), nil, c); rec.Code != http.StatusSeeOther {
		t.Fatalf("remove: %d", rec.Code)
	}
	if eps, _ := a.store.ListWebhooks(ctx); len(eps) != 0 {
		t.Fatalf("after remove: %+v", eps)
	}
}
