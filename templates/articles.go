package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

//go:embed articles/*.md
var articleFS embed.FS

// Article is one rendered article.
type Article struct {
	Title, Slug, Author, Summary string
	// Date is the publication date, at UTC midnight.
	Date time.Time
	// Related holds the slugs of related articles, in the order given.
	Related []string
	// HTML is the rendered body. Raw HTML in the source is not passed
	// through, so it is safe to output unescaped.
	HTML template.HTML
	// Words is the word count of the source body.
	Words int
	// ReadingMinutes is Words/220 rounded up, at least 1.
	ReadingMinutes int
}

// wordsPerMinute is a common estimate of adult silent reading speed.
const wordsPerMinute = 220

// dateLayout is the only accepted form of the date key.
const dateLayout = "2006-01-02"

var slugRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// frontMatterKeys lists every accepted key; an unknown key is an error so
// that a typo such as "titel" is caught at start-up, not by a reader.
var frontMatterKeys = map[string]bool{
	"title": true, "slug": true, "author": true, "date": true,
	"summary": true, "related": true,
}

// requiredKeys are checked in this order, so the error names the first gap.
var requiredKeys = []string{"title", "slug", "author", "date", "summary"}

// LoadArticles parses and renders every embedded article once. It returns
// them sorted newest first, then by title. The error names the file and the
// problem: missing or invalid front matter, a duplicate slug, a slug not
// matching ^[a-z0-9]+(-[a-z0-9]+)*$, a related slug that does not exist, or
// a bad date.
func LoadArticles() ([]Article, error) {
	sub, err := fs.Sub(articleFS, "articles")
	if err != nil {
		return nil, fmt.Errorf("templates: articles: %w", err)
	}
	return loadArticles(sub)
}

// loadArticles reads every *.md file at the top of fsys.
func loadArticles(fsys fs.FS) ([]Article, error) {
	names, err := fs.Glob(fsys, "*.md")
	if err != nil {
		return nil, fmt.Errorf("templates: articles: %w", err)
	}
	if len(names) == 0 {
		return nil, errors.New("templates: articles: no *.md files")
	}
	md := newMarkdown()
	articles := make([]Article, 0, len(names))
	fileOf := make(map[string]string, len(names)) // slug -> file name
	for _, name := range names {
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("templates: article %s: %w", name, err)
		}
		a, err := parseArticle(md, name, src)
		if err != nil {
			return nil, err
		}
		if other, dup := fileOf[a.Slug]; dup {
			return nil, fmt.Errorf("templates: article %s: slug %q already used by %s", name, a.Slug, other)
		}
		fileOf[a.Slug] = name
		articles = append(articles, a)
	}
	for _, a := range articles {
		for _, r := range a.Related {
			if _, ok := fileOf[r]; !ok {
				return nil, fmt.Errorf("templates: article %s: related slug %q does not exist", fileOf[a.Slug], r)
			}
		}
	}
	slices.SortFunc(articles, func(a, b Article) int {
		if c := b.Date.Compare(a.Date); c != 0 {
			return c
		}
		if c := strings.Compare(a.Title, b.Title); c != 0 {
			return c
		}
		return strings.Compare(a.Slug, b.Slug)
	})
	return articles, nil
}

// ParseArticle parses and renders one article source; name is used in
// errors only. It checks the front matter of the single article but not
// relations between articles (duplicate slugs, unknown related slugs), which
// LoadArticles does.
func ParseArticle(name string, src []byte) (Article, error) {
	return parseArticle(newMarkdown(), name, src)
}

func parseArticle(md goldmark.Markdown, name string, src []byte) (Article, error) {
	fail := func(format string, args ...any) (Article, error) {
		return Article{}, fmt.Errorf("templates: article %s: %s", name, fmt.Sprintf(format, args...))
	}
	if !utf8.Valid(src) {
		return fail("not valid UTF-8")
	}
	meta, body, err := splitFrontMatter(string(src))
	if err != nil {
		return fail("%v", err)
	}
	for _, k := range requiredKeys {
		if meta[k] == "" {
			return fail("front matter: missing key %q", k)
		}
	}
	a := Article{
		Title:   meta["title"],
		Slug:    meta["slug"],
		Author:  meta["author"],
		Summary: meta["summary"],
	}
	if !slugRE.MatchString(a.Slug) {
		return fail("front matter: slug %q must match %s", a.Slug, slugRE)
	}
	a.Date, err = time.Parse(dateLayout, meta["date"])
	if err != nil {
		return fail("front matter: date %q is not YYYY-MM-DD", meta["date"])
	}
	if rel := meta["related"]; rel != "" {
		for r := range strings.SplitSeq(rel, ",") {
			r = strings.TrimSpace(r)
			switch {
			case !slugRE.MatchString(r):
				return fail("front matter: related slug %q must match %s", r, slugRE)
			case r == a.Slug:
				return fail("front matter: related lists the article itself")
			case slices.Contains(a.Related, r):
				return fail("front matter: related slug %q listed twice", r)
			}
			a.Related = append(a.Related, r)
		}
	}
	if strings.TrimSpace(body) == "" {
		return fail("empty body")
	}
	var buf bytes.Buffer
	if err := md.Convert([]byte(body), &buf); err != nil {
		return fail("render: %v", err)
	}
	// Trusted because goldmark, without html.WithUnsafe, omits raw HTML and
	// drops dangerous link destinations such as javascript: URLs.
	a.HTML = template.HTML(buf.String())
	a.Words = countWords(body)
	a.ReadingMinutes = max(1, (a.Words+wordsPerMinute-1)/wordsPerMinute)
	return a, nil
}

// splitFrontMatter separates the "---" delimited block of "key: value" lines
// from the body. Blank lines and lines starting with "#" are skipped. Values
// may be wrapped in one pair of matching quotes, for authors used to YAML.
func splitFrontMatter(src string) (map[string]string, string, error) {
	src = strings.TrimPrefix(src, "\uFEFF")
	src = strings.ReplaceAll(src, "\r\n", "\n")
	rest, ok := strings.CutPrefix(src, "---\n")
	if !ok {
		return nil, "", errors.New(`no front matter: the file must start with a "---" line`)
	}
	meta := make(map[string]string)
	for lineNo := 2; ; lineNo++ {
		if rest == "" {
			return nil, "", errors.New(`front matter: no closing "---" line`)
		}
		line, after, _ := strings.Cut(rest, "\n")
		rest = after
		if strings.TrimRight(line, " \t") == "---" {
			return meta, rest, nil
		}
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, "", fmt.Errorf("front matter line %d: want \"key: value\", got %q", lineNo, line)
		}
		key = strings.TrimSpace(key)
		if !frontMatterKeys[key] {
			return nil, "", fmt.Errorf("front matter line %d: unknown key %q", lineNo, key)
		}
		if _, dup := meta[key]; dup {
			return nil, "", fmt.Errorf("front matter line %d: key %q given twice", lineNo, key)
		}
		meta[key] = unquote(strings.TrimSpace(value))
	}
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return strings.TrimSpace(s[1 : len(s)-1])
	}
	return s
}

// countWords counts the whitespace-separated tokens of the source that hold
// a letter or digit, so Markdown markup such as "-", "|" or "---" is not
// counted as words.
func countWords(s string) int {
	n := 0
	for _, f := range strings.Fields(s) {
		if strings.IndexFunc(f, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
			n++
		}
	}
	return n
}

func newMarkdown() goldmark.Markdown {
	return goldmark.New(
		goldmark.WithExtensions(extension.GFM),
		goldmark.WithParserOptions(
			parser.WithAutoHeadingID(),
			parser.WithASTTransformers(util.Prioritized(externalLinks{}, 100)),
		),
	)
}

// externalLinks marks absolute http(s) links with rel="noopener". Every
// absolute link counts as external: the site's own pages are linked with
// relative paths, and the base URL is not known when articles are rendered.
type externalLinks struct{}

func (externalLinks) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	source := reader.Source()
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch l := n.(type) {
		case *ast.Link:
			if isExternal(string(l.Destination)) {
				l.SetAttributeString("rel", []byte("noopener"))
			}
		case *ast.AutoLink:
			if l.AutoLinkType != ast.AutoLinkURL {
				break
			}
			u := string(l.URL(source))
			// GFM linkify accepts "www.example.com", which renders as http://.
			if isExternal(u) || strings.HasPrefix(strings.ToLower(u), "www.") {
				l.SetAttributeString("rel", []byte("noopener"))
			}
		}
		return ast.WalkContinue, nil
	})
}

func isExternal(u string) bool {
	u = strings.ToLower(u)
	return strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "//")
}
