package leads_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"leadbook/leads"
	"leadbook/leads/leadstest"
)

func TestAttributionStoredOnLeadAndBooking(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		c := newClock()
		s, _ := openStore(t, db, c)
		ctx := context.Background()
		l := validLead()
		l.Attribution = leads.Attribution{Article: "cto-vs-cio", LandingPage: "/articles/cto-vs-cio?x=1",
			Referrer: "https://User:pw@News.Example/story/1?email=ada@example.com#top", UTMSource: "Newsletter\x00",
			UTMMedium: "email", UTMCampaign: strings.Repeat("c", 150), UTMTerm: "cto", UTMContent: "top"}
		if _, err := s.CreateLead(ctx, l, nil); err != nil {
			t.Fatal(err)
		}
		got, err := s.FindLead(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := leads.Attribution{Article: "cto-vs-cio", LandingPage: "/articles/cto-vs-cio",
			Referrer: "https://news.example/story/1", UTMSource: "Newsletter", UTMMedium: "email",
			UTMCampaign: strings.Repeat("c", leads.MaxAttribUTM), UTMTerm: "cto", UTMContent: "top"}
		if got.Attribution != want {
			t.Fatalf("lead attribution %+v\nwant %+v", got.Attribution, want)
		}

		nb := newBooking(c.Now().Add(48*time.Hour), "grace@example.com", "uid-attrib")
		nb.Lead.Attribution = leads.Attribution{LandingPage: "/articles/platform-teams", Referrer: "https://www.search.example/"}
		b, _, err := s.CreateBooking(ctx, nb, nil, bookingMail)
		if err != nil {
			t.Fatal(err)
		}
		fb, err := s.FindBooking(ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if fb.Attribution != nb.Lead.Attribution {
			t.Fatalf("booking attribution %+v, want %+v", fb.Attribution, nb.Lead.Attribution)
		}
		p, err := s.FindPerson(ctx, "grace@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Bookings) != 1 || p.Bookings[0].Attribution.Referrer != "https://www.search.example/" ||
			len(p.Leads) != 1 || p.Leads[0].Attribution.LandingPage != "/articles/platform-teams" {
			t.Fatalf("subject access %+v", p)
		}

		day := c.Now()
		st, err := s.ArticleStats(ctx, day, day)
		if err != nil {
			t.Fatal(err)
		}
		if st.Total.Leads != 1 || st.Total.Bookings != 1 {
			t.Fatalf("totals %+v", st.Total)
		}
		wantSrc := map[string]leads.StatsRow{
			"newsletter":     {Name: "newsletter", Leads: 1},
			"search.example": {Name: "search.example", Bookings: 1},
		}
		for _, r := range st.Sources {
			if wantSrc[r.Name] != r {
				t.Errorf("source row %+v, want %+v", r, wantSrc[r.Name])
			}
		}
		if len(st.Sources) != 2 || len(st.Articles) != 2 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestAddViewsSumsAcrossStores(t *testing.T) {
	leadstest.Each(t, func(t *testing.T, db string) {
		c := newClock()
		s1, _ := openStore(t, db, c)
		s2, _ := openStore(t, db, c)
		ctx := context.Background()
		day := c.Now()
		a := leads.NewViewKey(day, "cto-vs-cio", "direct")
		b := leads.NewViewKey(day, "cto-vs-cio", "newsletter")
		prev := leads.NewViewKey(day.Add(-24*time.Hour), "platform-teams", "direct")
		errs := make(chan error, 2)
		go func() { errs <- s1.AddViews(ctx, map[leads.ViewKey]int64{a: 3, b: 1, prev: 7}) }()
		go func() { errs <- s2.AddViews(ctx, map[leads.ViewKey]int64{a: 4, b: 2}) }()
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if err := s2.AddViews(ctx, map[leads.ViewKey]int64{a: 1}); err != nil {
			t.Fatal(err)
		}
		st, err := s1.ArticleStats(ctx, day.Add(-24*time.Hour), day)
		if err != nil {
			t.Fatal(err)
		}
		if st.Total.Views != 18 || len(st.Days) != 2 || st.Days[0].Views != 7 || st.Days[1].Views != 11 {
			t.Fatalf("stats %+v", st)
		}
		if len(st.Articles) != 2 || st.Articles[0] != (leads.StatsRow{Name: "cto-vs-cio", Views: 11}) {
			t.Fatalf("articles %+v", st.Articles)
		}
		if len(st.Sources) != 2 || st.Sources[0] != (leads.StatsRow{Name: "direct", Views: 15}) {
			t.Fatalf("sources %+v", st.Sources)
		}
		only, err := s1.ArticleStats(ctx, day, day)
		if err != nil {
			t.Fatal(err)
		}
		if only.Total.Views != 11 {
			t.Fatalf("one day %+v", only.Total)
		}
	})
}

func TestCleanReferrer(t *testing.T) {
	for in, want := range map[string]string{
		"https://a.example/p?q=secret#f": "https://a.example/p",
		"http://A.Example":               "http://a.example",
		"javascript:alert(1)":            "",
		"/relative":                      "",
		"ftp://a.example/":               "",
		"https://u:p@a.example/x":        "https://a.example/x",
		"":                               "",
	} {
		if got := leads.CleanReferrer(in); got != want {
			t.Errorf("CleanReferrer(%q) = %q, want %q", in, got, want)
		}
	}
}
