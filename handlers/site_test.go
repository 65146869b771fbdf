package handlers_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"image/png"
	"regexp"
	"strings"
	"testing"
	"time"

	"leadbook/handlers"
	"leadbook/templates"
)

func TestRobots(t *testing.T) {
	a := newApp(t, options{})
	rec := a.get("/robots.txt")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := rec.Body.String()
	for _, w := range []string{"User-agent: *\n", "Disallow: /staff\n", "Disallow: /bookings/\n", "Sitemap: https://consult.example/sitemap.xml\n"} {
		if !strings.Contains(body, w) {
			t.Errorf("robots.txt lacks %q:\n%s", w, body)
		}
	}
	for _, public := range []string{"Disallow: /\n", "Disallow: /articles"} {
		if strings.Contains(body, public) {
			t.Errorf("robots.txt hides public pages: %q", public)
		}
	}
}

func TestSitemapListsEveryArticle(t *testing.T) {
	a := newApp(t, options{})
	rec := a.get("/sitemap.xml")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/xml") {
		t.Fatalf("status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var set struct {
		XMLName xml.Name
		URLs    []struct {
			Loc     string `xml:"loc"`
			LastMod string `xml:"lastmod"`
		} `xml:"url"`
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &set); err != nil {
		t.Fatalf("sitemap is not XML: %v", err)
	}
	if set.XMLName.Space != "http://www.sitemaps.org/schemas/sitemap/0.9" || set.XMLName.Local != "urlset" {
		t.Errorf("root %v", set.XMLName)
	}
	got := map[string]string{}
	for _, u := range set.URLs {
		got[u.Loc] = u.LastMod
	}
	arts, err := templates.LoadArticles()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/", "/articles", "/contact", "/book", "/privacy"}
	for _, art := range arts {
		loc := "https://consult.example/articles/" + art.Slug
		if got[loc] != art.Date.Format("2006-01-02") {
			t.Errorf("%s: lastmod %q, want %s", loc, got[loc], art.Date.Format("2006-01-02"))
		}
		want = append(want, "/articles/"+art.Slug)
	}
	for _, w := range want {
		if _, ok := got["https://consult.example"+w]; !ok {
			t.Errorf("sitemap lacks %s", w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("sitemap has %d pages, want %d: %v", len(got), len(want), got)
	}
	// Every listed page answers 200 and names itself as canonical.
	for loc := range got {
		path := strings.TrimPrefix(loc, "https://consult.example")
		rec := a.get(path)
		if rec.Code != 200 {
			t.Errorf("%s: status %d", path, rec.Code)
			continue
		}
		if !strings.Contains(rec.Body.String(), `<link rel="canonical" href="`+loc+`">`) {
			t.Errorf("%s: no canonical link to %s", path, loc)
		}
	}
}

func TestAtomFeed(t *testing.T) {
	a := newApp(t, options{})
	rec := a.get("/articles.atom")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/atom+xml; charset=utf-8" {
		t.Fatalf("status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	type link struct {
		Href string `xml:"href,attr"`
		Rel  string `xml:"rel,attr"`
	}
	var feed struct {
		XMLName xml.Name
		Title   string `xml:"title"`
		ID      string `xml:"id"`
		Updated string `xml:"updated"`
		Links   []link `xml:"link"`
		Entries []struct {
			Title     string `xml:"title"`
			ID        string `xml:"id"`
			Link      link   `xml:"link"`
			Published string `xml:"published"`
			Updated   string `xml:"updated"`
			Author    string `xml:"author>name"`
			Summary   string `xml:"summary"`
			Content   struct {
				Type string `xml:"type,attr"`
				Body string `xml:",chardata"`
			} `xml:"content"`
		} `xml:"entry"`
	}
	dec := xml.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.Strict = true
	if err := dec.Decode(&feed); err != nil {
		t.Fatalf("feed is not XML: %v", err)
	}
	if feed.XMLName.Space != "http://www.w3.org/2005/Atom" || feed.XMLName.Local != "feed" {
		t.Errorf("root %v", feed.XMLName)
	}
	if feed.Title == "" || feed.ID == "" {
		t.Errorf("feed title %q id %q", feed.Title, feed.ID)
	}
	self := false
	for _, l := range feed.Links {
		self = self || l.Rel == "self" && l.Href == "https://consult.example/articles.atom"
	}
	if !self {
		t.Errorf("no self link: %v", feed.Links)
	}
	arts, err := templates.LoadArticles()
	if err != nil {
		t.Fatal(err)
	}
	if len(feed.Entries) != len(arts) {
		t.Fatalf("%d entries, want %d", len(feed.Entries), len(arts))
	}
	if want := arts[0].Date.Format(time.RFC3339); feed.Updated != want {
		t.Errorf("feed updated %q, want the newest article's %q", feed.Updated, want)
	}
	for i, art := range arts {
		e := feed.Entries[i]
		url := "https://consult.example/articles/" + art.Slug
		if e.Title != art.Title || e.ID != url || e.Link.Href != url || e.Author != art.Author || e.Summary != art.Summary {
			t.Errorf("entry %d: %+v", i, e)
		}
		if _, err := time.Parse(time.RFC3339, e.Published); err != nil || e.Published != art.Date.Format(time.RFC3339) {
			t.Errorf("entry %d: published %q", i, e.Published)
		}
		if e.Content.Type != "html" || e.Content.Body != string(art.HTML) {
			t.Errorf("entry %d: content is not the article's HTML", i)
		}
	}
}

func TestEveryPageLinksTheFeed(t *testing.T) {
	a := newApp(t, options{})
	for _, path := range []string{"/", "/articles", "/articles/cto-vs-cio", "/contact", "/contact/thanks", "/book", "/privacy", "/nowhere"} {
		body := a.get(path).Body.String()
		if !strings.Contains(body, `<link rel="alternate" type="application/atom+xml"`) || !strings.Contains(body, `href="/articles.atom"`) {
			t.Errorf("%s: no feed link", path)
		}
		for _, w := range []string{`<meta property="og:title"`, `<meta name="twitter:card" content="summary">`, `<link rel="icon" href="/favicon.ico"`, `<link rel="apple-touch-icon" href="/apple-touch-icon.png">`} {
			if !strings.Contains(body, w) {
				t.Errorf("%s: lacks %s", path, w)
			}
		}
	}
}

func TestArticleMetadata(t *testing.T) {
	a := newApp(t, options{})
	body := a.get("/articles/cto-vs-cio").Body.String()
	for _, w := range []string{
		`<meta property="og:type" content="article">`,
		`<meta property="og:url" content="https://consult.example/articles/cto-vs-cio">`,
		`<meta property="og:title" content="CTO vs CIO: What&#39;s the Difference?">`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("article lacks %s", w)
		}
	}
	m := regexp.MustCompile(`(?s)<script type="application/ld\+json">(.*?)</script>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no JSON-LD")
	}
	var ld struct {
		Context       string `json:"@context"`
		Type          string `json:"@type"`
		Headline      string `json:"headline"`
		DatePublished string `json:"datePublished"`
		Author        struct {
			Name string `json:"name"`
		} `json:"author"`
	}
	if err := json.Unmarshal([]byte(m[1]), &ld); err != nil {
		t.Fatalf("JSON-LD: %v\n%s", err, m[1])
	}
	if ld.Context != "https://schema.org" || ld.Type != "Article" || ld.Headline != "CTO vs CIO: What's the Difference?" ||
		ld.DatePublished != "2025-06-05" || ld.Author.Name != "Daniel Gorlovetsky" {
		t.Errorf("JSON-LD %+v", ld)
	}
	if strings.Contains(a.get("/contact").Body.String(), "application/ld+json") {
		t.Error("the contact page carries an Article")
	}
}

func TestIcons(t *testing.T) {
	a := newApp(t, options{})
	rec := a.get("/favicon.ico")
	b := rec.Body.Bytes()
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/x-icon" || len(b) < 6 || !bytes.Equal(b[:4], []byte{0, 0, 1, 0}) {
		t.Fatalf("favicon: status %d type %q head % x", rec.Code, rec.Header().Get("Content-Type"), b[:min(6, len(b))])
	}
	if n := int(b[4]) | int(b[5])<<8; n != 3 {
		t.Errorf("favicon has %d images", n)
	}
	rec = a.get("/apple-touch-icon.png")
	img, err := png.Decode(rec.Body)
	if err != nil {
		t.Fatalf("touch icon: %v", err)
	}
	if r := img.Bounds(); r.Dx() != 180 || r.Dy() != 180 {
		t.Errorf("touch icon is %v", r)
	}
}

func TestArticlesIndex(t *testing.T) {
	a := newApp(t, options{})
	rec := a.get("/articles")
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	arts, err := templates.LoadArticles()
	if err != nil {
		t.Fatal(err)
	}
	body := rec.Body.String()
	for _, art := range arts {
		if !strings.Contains(body, `href="/articles/`+art.Slug+`"`) {
			t.Errorf("index lacks %s", art.Slug)
		}
	}
	if !strings.Contains(body, `<a href="/articles" aria-current="page">Articles</a>`) {
		t.Error("the menu does not mark Articles")
	}
}

func TestPrivacyNotice(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		a := newApp(t, options{})
		body := a.get("/privacy").Body.String()
		if !strings.Contains(body, "<h1>Privacy notice</h1>") || !strings.Contains(body, "<h2 id=\"what-we-store\">What we store</h2>") {
			t.Errorf("default notice not rendered:\n%s", body)
		}
		for _, path := range []string{"/contact", "/articles/cto-vs-cio", "/book"} {
			if !regexp.MustCompile(`(?s)<label for="(contact|book)-consent">[^<]*<a href="/privacy">`).MatchString(a.get(path).Body.String()) {
				t.Errorf("%s: the consent box does not link the notice", path)
			}
		}
	})
	t.Run("owner's file", func(t *testing.T) {
		a := newApp(t, options{config: func(c *handlers.Config) {
			c.Privacy = []byte("# ignored heading\n\nWe keep **nothing**.\n\n<script>alert(1)</script>\n")
		}})
		body := a.get("/privacy").Body.String()
		if !strings.Contains(body, "We keep <strong>nothing</strong>.") {
			t.Errorf("owner's notice not rendered")
		}
		if strings.Contains(body, "alert(1)") || strings.Contains(body, `id="what-we-store"`) {
			t.Errorf("raw HTML passed through, or the default shown")
		}
	})
}

func TestContactDetails(t *testing.T) {
	a := newApp(t, options{config: func(c *handlers.Config) {
		c.Contact = handlers.Contact{Email: "hello@consult.example", Phone: "+44 20 7946 0000", Address: "1 High Street, London EC1A 1AA"}
	}})
	body := a.get("/contact").Body.String()
	for _, w := range []string{`<a href="mailto:hello@consult.example">hello@consult.example</a>`, `<a href="tel:&#43;442079460000">&#43;44 20 7946 0000</a>`,
		"1 High Street<br>London EC1A 1AA"} {
		if !strings.Contains(body, w) {
			t.Errorf("contact page lacks %s", w)
		}
	}
	if strings.Contains(newApp(t, options{}).get("/contact").Body.String(), "Reach us directly") {
		t.Error("empty contact details shown")
	}
}
