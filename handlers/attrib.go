package handlers

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"leadbook/leads"
)

// A visit's first touch (its landing page, external referrer and utm_*
// parameters) travels without a cookie: as the query parameter carryParam
// on the site's own links and as a hidden input of that name in its forms,
// on the pages of a visit that has one. Its value is signed:
//
//	version (1) | issued unix seconds (4) | fields joined by 0x1f | HMAC-SHA256 (12)
//
// in unpadded base64url. A value that fails its signature, or is older
// than carryMaxAge, is ignored; the fields are normalized again on the way
// in (leads.Attribution.Normalize), so a forged one could not carry more
// than a real one anyway.
const (
	carryParam   = "a"
	carryVersion = 1
	carryMAC     = 12
	carryMaxAge  = 30 * 24 * time.Hour
	carryMaxLen  = 2048 // characters of the encoded value
)

// carrySigner signs and checks carried attributions.
type carrySigner struct{ key []byte }

func (cs carrySigner) mac(b []byte) []byte {
	m := hmac.New(sha256.New, cs.key)
	m.Write(b)
	return m.Sum(nil)[:carryMAC]
}

// sign encodes a, issued at now.
func (cs carrySigner) sign(a leads.Attribution, now time.Time) string {
	fields := []string{a.LandingPage, a.Referrer, a.UTMSource, a.UTMMedium, a.UTMCampaign, a.UTMTerm, a.UTMContent}
	b := make([]byte, 5, 5+64)
	b[0] = carryVersion
	binary.BigEndian.PutUint32(b[1:5], uint32(now.Unix()))
	b = append(b, strings.Join(fields, "\x1f")...)
	b = append(b, cs.mac(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// parse checks v and returns its attribution.
func (cs carrySigner) parse(v string, now time.Time) (leads.Attribution, bool) {
	if v == "" || len(v) > carryMaxLen {
		return leads.Attribution{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) < 5+carryMAC || b[0] != carryVersion {
		return leads.Attribution{}, false
	}
	body, sum := b[:len(b)-carryMAC], b[len(b)-carryMAC:]
	if !hmac.Equal(sum, cs.mac(body)) {
		return leads.Attribution{}, false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint32(body[1:5])), 0)
	if now.Sub(issued) > carryMaxAge || issued.After(now.Add(time.Minute)) {
		return leads.Attribution{}, false
	}
	f := strings.Split(string(body[5:]), "\x1f")
	if len(f) != 7 {
		return leads.Attribution{}, false
	}
	a := leads.Attribution{LandingPage: f[0], Referrer: f[1], UTMSource: f[2], UTMMedium: f[3], UTMCampaign: f[4], UTMTerm: f[5], UTMContent: f[6]}
	a.Normalize()
	return a, !a.Empty()
}

var utmParams = [...]string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"}

// visit returns the first touch a GET carries: a valid carried value (and
// that value, to pass on), or else one made from this request's utm_*
// parameters and external Referer, with its path as the landing page (and
// a value newly signed). A visit with neither has none: signed is "".
func (s *Server) visit(c echo.Context) (a leads.Attribution, signed string) {
	r := c.Request()
	q := r.URL.RawQuery
	if q != "" {
		vals := c.QueryParams()
		if v := vals.Get(carryParam); v != "" {
			if a, ok := s.carry.parse(v, s.now()); ok {
				return a, v
			}
		}
		a.UTMSource, a.UTMMedium, a.UTMCampaign = vals.Get(utmParams[0]), vals.Get(utmParams[1]), vals.Get(utmParams[2])
		a.UTMTerm, a.UTMContent = vals.Get(utmParams[3]), vals.Get(utmParams[4])
	}
	if ref := r.Header.Get("Referer"); ref != "" && s.externalReferrer(r, ref) {
		a.Referrer = ref
	}
	if a.Empty() {
		return leads.Attribution{}, ""
	}
	a.LandingPage = r.URL.Path
	a.Normalize()
	if a.Empty() {
		return leads.Attribution{}, ""
	}
	return a, s.carry.sign(a, s.now())
}

// externalReferrer reports whether ref names another site than this one
// (its request host and its base URL's).
func (s *Server) externalReferrer(r *http.Request, ref string) bool {
	u, err := url.Parse(ref)
	if err != nil || u.Host == "" {
		return false
	}
	host := strings.ToLower(u.Host)
	return host != strings.ToLower(r.Host) && host != s.baseHost
}

// posted returns the first touch a submission carried in its hidden
// input, with article as the page the form was on (when it is one).
func (s *Server) posted(carried, article string) leads.Attribution {
	a, _ := s.carry.parse(carried, s.now())
	if _, ok := s.articles.bySlug[article]; ok {
		a.Article = article
	} else {
		a.Article = a.ArticleKey()
	}
	return a
}

var (
	carryHref = regexp.MustCompile(`href="/[^"]*"`)
	formEnd   = []byte("</form>")
)

// carried returns body with signed added to every link to the site's own
// pages (but its static files) and as a hidden input to every form.
func carried(body []byte, signed string) []byte {
	if signed == "" {
		return body
	}
	out := carryHref.ReplaceAllFunc(body, func(m []byte) []byte {
		href := string(m[6 : len(m)-1])
		if strings.HasPrefix(href, "//") || strings.HasPrefix(href, "/static/") {
			return m
		}
		frag := ""
		if i := strings.IndexByte(href, '#'); i >= 0 {
			href, frag = href[:i], href[i:]
		}
		sep := "?"
		if strings.Contains(href, "?") {
			sep = "&amp;"
		}
		return []byte(`href="` + href + sep + carryParam + "=" + signed + frag + `"`)
	})
	input := []byte(`<input type="hidden" name="` + carryParam + `" value="` + signed + `"></form>`)
	return bytes.ReplaceAll(out, formEnd, input)
}

// serveCarried writes a public page rendered for this visit only.
func (s *Server) serveCarried(c echo.Context, status int, body []byte, signed string) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, carried(body, signed))
}

// ViewStore keeps the article view counts.
type ViewStore interface {
	AddViews(ctx context.Context, counts map[leads.ViewKey]int64) error
}

// viewCounter counts article views in memory until FlushViews.
type viewCounter struct {
	mu sync.Mutex
	m  map[viewKey]int64
}

type viewKey struct {
	day             int64 // unix days
	article, source string
}

func (v *viewCounter) add(now time.Time, article, source string) {
	k := viewKey{day: now.Unix() / 86400, article: article, source: source}
	v.mu.Lock()
	if v.m == nil {
		v.m = map[viewKey]int64{}
	}
	v.m[k]++
	v.mu.Unlock()
}

func (v *viewCounter) take() map[viewKey]int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	m := v.m
	v.m = nil
	return m
}

// giveBack adds counts that could not be stored back in, for the next
// flush.
func (v *viewCounter) giveBack(m map[viewKey]int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = map[viewKey]int64{}
	}
	for k, n := range m {
		v.m[k] += n
	}
}

// FlushViews adds the article views counted since the last flush to the
// store (Deps.Views). Counts it could not store stay for the next call.
// Call it periodically and once at shutdown, after the listener closed.
func (s *Server) FlushViews(ctx context.Context) error {
	if s.deps.Views == nil {
		return nil
	}
	m := s.views.take()
	if len(m) == 0 {
		return nil
	}
	out := make(map[leads.ViewKey]int64, len(m))
	for k, n := range m {
		out[leads.NewViewKey(time.Unix(k.day*86400, 0), k.article, k.source)] += n
	}
	if err := s.deps.Views.AddViews(ctx, out); err != nil {
		s.views.giveBack(m)
		return err
	}
	return nil
}

// countView counts a view of the article slug by a person: not HEAD, not
// a prefetch or prerender, not a client that names itself a bot.
func (s *Server) countView(r *http.Request, slug string, a *leads.Attribution) {
	if s.deps.Views == nil || r.Method != http.MethodGet || !personView(r) {
		return
	}
	source := leads.SourceDirect
	if a != nil {
		source = a.Source()
	}
	s.views.add(s.now(), slug, source)
}

// botWords are the User-Agent fragments (lower case) of crawlers, link
// previews, monitors and scripts.
var botWords = [][]byte{[]byte("bot"), []byte("crawl"), []byte("spider"), []byte("slurp"), []byte("curl"),
	[]byte("wget"), []byte("python"), []byte("go-http-client"), []byte("java/"), []byte("headless"),
	[]byte("preview"), []byte("facebookexternalhit"), []byte("monitor"), []byte("lighthouse"),
	[]byte("httpclient"), []byte("okhttp"), []byte("axios"), []byte("node-fetch"), []byte("scrapy"),
	[]byte("feedfetcher"), []byte("validator"), []byte("check")}

// prefetchWords mark a request as a prefetch or prerender in the headers
// browsers send for them.
var prefetchWords = [][]byte{[]byte("prefetch"), []byte("prerender"), []byte("preview")}

// personView reports whether r looks like a person viewing the page. It
// runs on every article view, so it lower-cases into a buffer on the stack
// and searches that with bytes.Contains.
func personView(r *http.Request) bool {
	h := r.Header
	var buf [512]byte
	for _, name := range []string{"Sec-Purpose", "Purpose", "X-Purpose", "X-Moz"} {
		if v := h.Get(name); v != "" && containsAny(lowerASCII(buf[:0], v), prefetchWords) {
			return false
		}
	}
	ua := h.Get("User-Agent")
	if !strings.HasPrefix(ua, "Mozilla/") {
		return false
	}
	return !containsAny(lowerASCII(buf[:0], ua), botWords)
}

// lowerASCII appends s to dst with its ASCII letters in lower case.
func lowerASCII(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// containsAny reports whether s holds any of words.
func containsAny(s []byte, words [][]byte) bool {
	for _, w := range words {
		if bytes.Contains(s, w) {
			return true
		}
	}
	return false
}
