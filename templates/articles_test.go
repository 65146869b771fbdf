package templates

import (
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func loadAll(t *testing.T) []Article {
	t.Helper()
	articles, err := LoadArticles()
	if err != nil {
		t.Fatalf("LoadArticles: %v", err)
	}
	return articles
}

func TestLoadArticles(t *testing.T) {
	articles := loadAll(t)
	// Newest first.
	want := []struct {
		slug, title, author, date string
	}{
		{"cto-vs-cio", "CTO vs CIO: What's the Difference?", "Daniel Gorlovetsky", "2025-06-05"},
		{"software-oriented-architecture", "Is Service-Oriented Architecture Your Next Step?", "Editorial team", "2025-04-22"},
		{"ui-design-tech-startups", "UI Design: Elevating Tech Startup Success", "Editorial team", "2025-03-18"},
		{"full-stack-developer-skills", "Important Skills for a Full Stack Developer", "Editorial team", "2025-02-11"},
	}
	if len(articles) != len(want) {
		t.Fatalf("got %d articles, want %d", len(articles), len(want))
	}
	for i, w := range want {
		a := articles[i]
		if a.Slug != w.slug || a.Title != w.title || a.Author != w.author {
			t.Errorf("article %d = {%q, %q, %q}, want {%q, %q, %q}", i, a.Slug, a.Title, a.Author, w.slug, w.title, w.author)
		}
		wantDate, _ := time.Parse(time.DateOnly, w.date)
		if !a.Date.Equal(wantDate) || a.Date.Location() != time.UTC {
			t.Errorf("%s: date = %v, want %v UTC", a.Slug, a.Date, wantDate)
		}
		if a.Summary == "" {
			t.Errorf("%s: empty summary", a.Slug)
		}
		if a.ReadingMinutes != (a.Words+219)/220 || a.ReadingMinutes < 1 {
			t.Errorf("%s: ReadingMinutes = %d for %d words", a.Slug, a.ReadingMinutes, a.Words)
		}
		if strings.Contains(string(a.HTML), "<h1") {
			t.Errorf("%s: body has an h1; the page template shows the title", a.Slug)
		}
		if !strings.Contains(string(a.HTML), "<h2 id=") {
			t.Errorf("%s: no h2 heading with an id", a.Slug)
		}
	}
}

func TestMainArticle(t *testing.T) {
	articles := loadAll(t)
	i := slices.IndexFunc(articles, func(a Article) bool { return a.Slug == "cto-vs-cio" })
	if i < 0 {
		t.Fatal("cto-vs-cio not loaded")
	}
	a := articles[i]
	html := string(a.HTML)
	for _, s := range []string{"<h2", "<h3", "CTO", "CIO", "<table>", "<ul>"} {
		if !strings.Contains(html, s) {
			t.Errorf("HTML lacks %q", s)
		}
	}
	if a.Words < 900 || a.Words > 1200 {
		t.Errorf("Words = %d, want 900-1200", a.Words)
	}
	want := []string{"software-oriented-architecture", "ui-design-tech-startups", "full-stack-developer-skills"}
	if !slices.Equal(a.Related, want) {
		t.Errorf("Related = %q, want %q", a.Related, want)
	}
}

func TestRelatedResolve(t *testing.T) {
	articles := loadAll(t)
	bySlug := make(map[string]Article)
	for _, a := range articles {
		bySlug[a.Slug] = a
	}
	for _, a := range articles {
		if len(a.Related) != len(articles)-1 {
			t.Errorf("%s: %d related, want the other %d", a.Slug, len(a.Related), len(articles)-1)
		}
		for _, r := range a.Related {
			if _, ok := bySlug[r]; !ok {
				t.Errorf("%s: related %q does not resolve", a.Slug, r)
			}
		}
	}
}

const validSource = `---
title: A title: with a colon
slug: a-slug
author: Someone
date: 2024-01-31
summary: Short.
related: b, c-2
---

## Heading

Body text.
`

func TestParseArticle(t *testing.T) {
	a, err := ParseArticle("a.md", []byte(validSource))
	if err != nil {
		t.Fatal(err)
	}
	if a.Title != "A title: with a colon" || a.Slug != "a-slug" || a.Author != "Someone" || a.Summary != "Short." {
		t.Errorf("got %+v", a)
	}
	if !a.Date.Equal(time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Date = %v", a.Date)
	}
	if !slices.Equal(a.Related, []string{"b", "c-2"}) {
		t.Errorf("Related = %q", a.Related)
	}
	if want := `<h2 id="heading">Heading</h2>`; !strings.Contains(string(a.HTML), want) {
		t.Errorf("HTML = %q, want it to contain %q", a.HTML, want)
	}
	if a.Words != 3 || a.ReadingMinutes != 1 {
		t.Errorf("Words, ReadingMinutes = %d, %d; want 3, 1", a.Words, a.ReadingMinutes)
	}
}

func TestParseArticleForms(t *testing.T) {
	tests := map[string]string{
		"crlf":    strings.ReplaceAll(validSource, "\n", "\r\n"),
		"bom":     "\uFEFF" + validSource,
		"quoted":  strings.Replace(validSource, "title: A title: with a colon", `title: "A title: with a colon"`, 1),
		"comment": strings.Replace(validSource, "slug:", "# a comment\n\nslug:", 1),
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			a, err := ParseArticle("a.md", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if a.Title != "A title: with a colon" || a.Slug != "a-slug" {
				t.Errorf("Title, Slug = %q, %q", a.Title, a.Slug)
			}
		})
	}
}

func TestParseArticleErrors(t *testing.T) {
	replace := func(old, new string) string { return strings.Replace(validSource, old, new, 1) }
	tests := []struct {
		name, src, want string
	}{
		{"empty file", "", "no front matter"},
		{"no front matter", "## Just markdown\n", "no front matter"},
		{"unclosed", "---\ntitle: x\n", `no closing "---"`},
		{"missing title", replace("title: A title: with a colon\n", ""), `missing key "title"`},
		{"empty title", replace("title: A title: with a colon", "title:   "), `missing key "title"`},
		{"missing slug", replace("slug: a-slug\n", ""), `missing key "slug"`},
		{"missing author", replace("author: Someone\n", ""), `missing key "author"`},
		{"missing date", replace("date: 2024-01-31\n", ""), `missing key "date"`},
		{"missing summary", replace("summary: Short.\n", ""), `missing key "summary"`},
		{"bad date", replace("2024-01-31", "2024-02-30"), "date"},
		{"date with time", replace("2024-01-31", "2024-01-31T10:00:00Z"), "date"},
		{"date other order", replace("2024-01-31", "31/01/2024"), "date"},
		{"slug upper case", replace("slug: a-slug", "slug: A-Slug"), "slug"},
		{"slug double hyphen", replace("slug: a-slug", "slug: a--slug"), "slug"},
		{"slug trailing hyphen", replace("slug: a-slug", "slug: a-slug-"), "slug"},
		{"slug with slash", replace("slug: a-slug", "slug: a/slug"), "slug"},
		{"bad related", replace("related: b, c-2", "related: b, C 2"), "related slug"},
		{"empty related item", replace("related: b, c-2", "related: b,,c-2"), "related slug"},
		{"related self", replace("related: b, c-2", "related: b, a-slug"), "itself"},
		{"related twice", replace("related: b, c-2", "related: b, b"), "twice"},
		{"unknown key", replace("author:", "tags: x\nauthor:"), `unknown key "tags"`},
		{"duplicate key", replace("author:", "title: again\nauthor:"), `"title" given twice`},
		{"no colon", replace("author:", "just words\nauthor:"), "key: value"},
		{"empty body", "---\ntitle: t\nslug: s\nauthor: a\ndate: 2024-01-01\nsummary: s\n---\n\n  \n", "empty body"},
		{"invalid utf-8", validSource + "\xff", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseArticle("bad.md", []byte(tt.src))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), "bad.md") {
				t.Errorf("error %q does not name the file", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestParseArticleRawHTML(t *testing.T) {
	src := validSource + `
<script>alert("block")</script>

Inline <script>alert("inline")</script> and <img src=x onerror=alert(1)>.

[click](javascript:alert(1)) and [data](data:text/html;base64,PHNjcmlwdD4=)

<SCRIPT SRC="https://evil.example/x.js"></SCRIPT>
`
	a, err := ParseArticle("a.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	html := strings.ToLower(string(a.HTML))
	for _, bad := range []string{"<script", "onerror", "<img", "javascript:", "data:text/html"} {
		if strings.Contains(html, bad) {
			t.Errorf("HTML contains %q:\n%s", bad, a.HTML)
		}
	}
}

func TestExternalLinks(t *testing.T) {
	src := validSource + `
[external](https://example.com/page), [plain http](http://example.org),
[internal](/articles/cto-vs-cio), [anchor](#heading), and
https://autolink.example.com/x
`
	a, err := ParseArticle("a.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	html := string(a.HTML)
	for _, want := range []string{
		`<a href="https://example.com/page" rel="noopener">`,
		`<a href="http://example.org" rel="noopener">`,
		`<a href="/articles/cto-vs-cio">`,
		`<a href="#heading">`,
		`<a href="https://autolink.example.com/x" rel="noopener">`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %s:\n%s", want, html)
		}
	}
}

func TestLoadArticlesCrossChecks(t *testing.T) {
	article := func(slug, related string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("---\ntitle: T " + slug + "\nslug: " + slug +
			"\nauthor: A\ndate: 2024-01-01\nsummary: S\nrelated: " + related + "\n---\nBody.\n")}
	}
	tests := []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"duplicate slug", fstest.MapFS{"a.md": article("x", ""), "b.md": article("x", "")}, `b.md: slug "x" already used by a.md`},
		{"unknown related", fstest.MapFS{"a.md": article("x", "y"), "b.md": article("z", "")}, `a.md: related slug "y" does not exist`},
		{"bad file", fstest.MapFS{"a.md": article("x", ""), "b.md": {Data: []byte("oops")}}, "b.md: no front matter"},
		{"no files", fstest.MapFS{"readme.txt": {Data: []byte("x")}}, "no *.md files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadArticles(tt.fsys)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadArticlesOrder(t *testing.T) {
	file := func(title, slug, date string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("---\ntitle: " + title + "\nslug: " + slug +
			"\nauthor: A\ndate: " + date + "\nsummary: S\n---\nBody.\n")}
	}
	articles, err := loadArticles(fstest.MapFS{
		"1.md": file("Old", "old", "2020-01-01"),
		"2.md": file("Beta", "beta", "2024-05-05"),
		"3.md": file("Alpha", "alpha", "2024-05-05"),
		"4.md": file("New", "new", "2025-01-01"),
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range articles {
		got = append(got, a.Slug)
	}
	if want := []string{"new", "alpha", "beta", "old"}; !slices.Equal(got, want) {
		t.Errorf("order = %q, want %q", got, want)
	}
}

var fuzzSlugRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func FuzzParseArticle(f *testing.F) {
	names, err := fs.Glob(articleFS, "articles/*.md")
	if err != nil || len(names) == 0 {
		f.Fatalf("no seed articles: %v", err)
	}
	for _, name := range names {
		src, err := fs.ReadFile(articleFS, name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte(validSource))
	f.Add([]byte(validSource + "\n<script>x</script>\n[a](javascript:x)\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		a, err := ParseArticle("fuzz.md", src)
		if err != nil {
			if a.Slug != "" || a.HTML != "" {
				t.Errorf("error %v with a non-zero Article", err)
			}
			return
		}
		if !fuzzSlugRE.MatchString(a.Slug) {
			t.Errorf("accepted slug %q", a.Slug)
		}
		if a.Title == "" || a.Author == "" || a.Summary == "" {
			t.Errorf("accepted empty required field: %+v", a)
		}
		if a.ReadingMinutes < 1 || a.Words < 0 {
			t.Errorf("Words, ReadingMinutes = %d, %d", a.Words, a.ReadingMinutes)
		}
		if strings.Contains(strings.ToLower(string(a.HTML)), "<script") {
			t.Errorf("raw script passed through: %q", a.HTML)
		}
	})
}
