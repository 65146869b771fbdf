package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"leadbook/leads"
)

// TestExportGuardForScripts: ?guard=0 gives a token's script the phone as
// typed; a signed-in person's download keeps the spreadsheet guard.
func TestExportGuardForScripts(t *testing.T) {
	a := newApp(t, options{})
	v := contactValues(a.formToken("/contact"))
	v.Set("phone", "+44 20 7946 0000")
	a.clock.Add(10e9)
	if rec := a.postForm("/contact", v); rec.Code >= 400 {
		t.Fatalf("contact: %d", rec.Code)
	}
	token, _, err := a.store.CreateToken(context.Background(), "script", leads.ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	byToken := func(q string) string {
		req := httptest.NewRequest(http.MethodGet, "/staff/leads.csv"+q, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := a.do(req)
		if rec.Code != 200 {
			t.Fatalf("export%s: %d", q, rec.Code)
		}
		return rec.Body.String()
	}
	if got := byToken("?guard=0"); !strings.Contains(got, ",+44 20 7946 0000,") {
		t.Errorf("guard=0 export:\n%s", got)
	}
	if got := byToken(""); !strings.Contains(got, ",'+44 20 7946 0000,") {
		t.Errorf("default export is unguarded:\n%s", got)
	}
	a.addStaff()
	cookie := a.login("")
	if got := a.staffGet("/staff/leads.csv?guard=0", cookie).Body.String(); !strings.Contains(got, ",'+44 20 7946 0000,") {
		t.Errorf("a person's guard=0 download is unguarded:\n%s", got)
	}
	page := a.staffGet("/staff/leads", cookie).Body.String()
	if strings.Contains(page, "?&amp;") || !strings.Contains(page, `href="/staff/leads.csv?bom=1"`) || !strings.Contains(page, `href="/staff/leads.csv"`) {
		t.Errorf("export links are not clean")
	}
}
