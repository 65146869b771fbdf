package handlers

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"leadbook/templates"
)

// Contact is the firm's contact details, shown on the contact page; any
// may be empty.
type Contact struct {
	Email, Phone, Address string
}

// AddressLines splits the postal address at commas and newlines, one line
// each on the page.
func (c Contact) AddressLines() []string {
	var lines []string
	for l := range strings.FieldsFuncSeq(c.Address, func(r rune) bool { return r == ',' || r == '\n' }) {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// PhoneURI is the phone number as a tel: URI (digits and a leading +).
func (c Contact) PhoneURI() template.URL {
	var b strings.Builder
	for i, r := range c.Phone {
		if r >= '0' && r <= '9' || r == '+' && i == 0 {
			b.WriteRune(r)
		}
	}
	return template.URL("tel:" + b.String())
}

// siteFiles are the files a search engine, a feed reader and a browser
// ask for by name: robots.txt, the sitemap, the Atom feed and the icons.
type siteFiles struct {
	robots, sitemap, atom, favicon, touchIcon *asset
	articles, privacy                         *asset
}

const (
	xmlHeader     = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
	siteFileCache = "public, max-age=3600"
)

func (s *Server) newSiteFiles() (*siteFiles, error) {
	f := &siteFiles{}
	base := s.cfg.BaseURL
	var err error
	robots := "User-agent: *\nDisallow: /staff\nDisallow: /bookings/\nDisallow: /api/\nDisallow: /calendar/\n" +
		"Disallow: /contact/thanks\nDisallow: /book/\n\nSitemap: " + base + "/sitemap.xml\n"
	if f.robots, err = newAsset([]byte(robots), "text/plain; charset=utf-8", siteFileCache); err != nil {
		return nil, err
	}
	if f.sitemap, err = s.sitemap(); err != nil {
		return nil, err
	}
	if f.atom, err = s.atomFeed(); err != nil {
		return nil, err
	}
	fav, touch, err := icons()
	if err != nil {
		return nil, err
	}
	if f.favicon, err = newAsset(fav, "image/x-icon", "public, max-age=86400"); err != nil {
		return nil, err
	}
	if f.touchIcon, err = newAsset(touch, "image/png", "public, max-age=86400"); err != nil {
		return nil, err
	}
	p := s.page("Articles", "Every article on technology leadership, architecture and product design.", "articles",
		map[string]any{"Articles": s.articles.list})
	p.Canonical = base + "/articles"
	body, err := s.pages.render("articles", p)
	if err != nil {
		return nil, err
	}
	if f.articles, err = newAsset(body, "text/html; charset=utf-8", "no-cache"); err != nil {
		return nil, err
	}
	src := s.cfg.Privacy
	if len(bytes.TrimSpace(src)) == 0 {
		src = templates.DefaultPrivacy
	}
	notice, err := templates.RenderMarkdown("privacy notice", src)
	if err != nil {
		return nil, err
	}
	p = s.page("Privacy notice", "What we store when you contact us or book a call, why, and for how long.", "",
		map[string]any{"Notice": notice})
	p.Canonical = base + "/privacy"
	if body, err = s.pages.render("privacy", p); err != nil {
		return nil, err
	}
	if f.privacy, err = newAsset(body, "text/html; charset=utf-8", "no-cache"); err != nil {
		return nil, err
	}
	return f, nil
}

// sitemap lists every public page a search engine should index.
func (s *Server) sitemap() (*asset, error) {
	type loc struct {
		Loc     string `xml:"loc"`
		LastMod string `xml:"lastmod,omitempty"`
	}
	type urlset struct {
		XMLName xml.Name `xml:"urlset"`
		NS      string   `xml:"xmlns,attr"`
		URLs    []loc    `xml:"url"`
	}
	set := urlset{NS: "http://www.sitemaps.org/schemas/sitemap/0.9"}
	latest := ""
	if len(s.articles.list) > 0 {
		latest = s.articles.list[0].Date.Format(dateOnly)
	}
	set.URLs = append(set.URLs, loc{Loc: s.cfg.BaseURL + "/", LastMod: latest}, loc{Loc: s.cfg.BaseURL + "/articles", LastMod: latest})
	for _, a := range s.articles.list {
		set.URLs = append(set.URLs, loc{Loc: s.cfg.BaseURL + "/articles/" + a.Slug, LastMod: a.Date.Format(dateOnly)})
	}
	set.URLs = append(set.URLs, loc{Loc: s.cfg.BaseURL + "/contact"})
	if s.booking != nil {
		set.URLs = append(set.URLs, loc{Loc: s.cfg.BaseURL + "/book"})
	}
	set.URLs = append(set.URLs, loc{Loc: s.cfg.BaseURL + "/privacy"})
	body, err := xml.MarshalIndent(set, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("handlers: sitemap: %w", err)
	}
	return newAsset(append([]byte(xmlHeader), body...), "application/xml; charset=utf-8", siteFileCache)
}

const dateOnly = "2006-01-02"

// atomFeed is the Atom feed of the articles, newest first, with each
// article's whole text.
func (s *Server) atomFeed() (*asset, error) {
	type link struct {
		Href string `xml:"href,attr"`
		Rel  string `xml:"rel,attr,omitempty"`
		Type string `xml:"type,attr,omitempty"`
	}
	type text struct {
		Type string `xml:"type,attr,omitempty"`
		Body string `xml:",chardata"`
	}
	type person struct {
		Name string `xml:"name"`
	}
	type entry struct {
		Title     string `xml:"title"`
		Link      link   `xml:"link"`
		ID        string `xml:"id"`
		Published string `xml:"published"`
		Updated   string `xml:"updated"`
		Author    person `xml:"author"`
		Summary   text   `xml:"summary"`
		Content   text   `xml:"content"`
	}
	type feed struct {
		XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
		Title   string   `xml:"title"`
		Links   []link   `xml:"link"`
		ID      string   `xml:"id"`
		Updated string   `xml:"updated"`
		Author  person   `xml:"author"`
		Entries []entry  `xml:"entry"`
	}
	base := s.cfg.BaseURL
	f := feed{
		Title: s.cfg.SiteName + ": articles",
		Links: []link{{Href: base + "/articles.atom", Rel: "self", Type: "application/atom+xml"}, {Href: base + "/articles", Rel: "alternate", Type: "text/html"}},
		ID:    base + "/articles",
		// A feed without entries still needs a date: the Unix epoch says
		// "never updated" honestly.
		Updated: time.Unix(0, 0).UTC().Format(time.RFC3339),
		Author:  person{Name: s.cfg.SiteName},
	}
	for i, a := range s.articles.list {
		when := a.Date.UTC().Format(time.RFC3339)
		if i == 0 {
			f.Updated = when
		}
		url := base + "/articles/" + a.Slug
		f.Entries = append(f.Entries, entry{
			Title: a.Title, Link: link{Href: url, Rel: "alternate", Type: "text/html"}, ID: url,
			Published: when, Updated: when, Author: person{Name: a.Author},
			Summary: text{Type: "text", Body: a.Summary}, Content: text{Type: "html", Body: string(a.HTML)},
		})
	}
	body, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("handlers: atom feed: %w", err)
	}
	return newAsset(append([]byte(xmlHeader), body...), "application/atom+xml; charset=utf-8", siteFileCache)
}

// articleJSONLD is the schema.org Article of an article page. json.Marshal
// escapes <, > and &, so the text is safe inside a script element.
func articleJSONLD(base, site string, a *templates.Article) (template.JS, error) {
	type thing struct {
		Type string `json:"@type"`
		Name string `json:"name"`
		URL  string `json:"url,omitempty"`
	}
	doc := struct {
		Context       string `json:"@context"`
		Type          string `json:"@type"`
		Headline      string `json:"headline"`
		Description   string `json:"description"`
		DatePublished string `json:"datePublished"`
		Author        thing  `json:"author"`
		Publisher     thing  `json:"publisher"`
		URL           string `json:"url"`
		MainEntity    string `json:"mainEntityOfPage"`
		Image         string `json:"image"`
		WordCount     int    `json:"wordCount"`
	}{
		Context: "https://schema.org", Type: "Article", Headline: a.Title, Description: a.Summary,
		DatePublished: a.Date.Format(dateOnly), Author: thing{Type: "Person", Name: a.Author},
		Publisher: thing{Type: "Organization", Name: site, URL: base + "/"},
		URL:       base + "/articles/" + a.Slug, MainEntity: base + "/articles/" + a.Slug,
		Image: base + "/apple-touch-icon.png", WordCount: a.Words,
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("handlers: article %s: json-ld: %w", a.Slug, err)
	}
	return template.JS(b), nil
}

// icons draws the site's mark (a white diamond on a blue rounded square,
// as static/icon.svg) as favicon.ico (16, 32 and 48 px) and as the 180 px
// apple-touch icon, which has square corners: iOS rounds them itself.
func icons() (ico, touch []byte, err error) {
	sizes := []int{16, 32, 48}
	var pngs [][]byte
	for _, n := range sizes {
		b, err := encodePNG(drawMark(n, true))
		if err != nil {
			return nil, nil, err
		}
		pngs = append(pngs, b)
	}
	var buf bytes.Buffer
	le := binary.LittleEndian
	buf.Write(le.AppendUint16(le.AppendUint16(le.AppendUint16(nil, 0), 1), uint16(len(sizes))))
	offset := 6 + 16*len(sizes)
	for i, n := range sizes {
		e := []byte{byte(n), byte(n), 0, 0}
		e = le.AppendUint16(e, 1)
		e = le.AppendUint16(e, 32)
		e = le.AppendUint32(e, uint32(len(pngs[i])))
		e = le.AppendUint32(e, uint32(offset))
		buf.Write(e)
		offset += len(pngs[i])
	}
	for _, p := range pngs {
		buf.Write(p)
	}
	if touch, err = encodePNG(drawMark(180, false)); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), touch, nil
}

func encodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("handlers: icon: %w", err)
	}
	return buf.Bytes(), nil
}

// drawMark renders the mark at n×n pixels, four by four samples a pixel.
func drawMark(n int, rounded bool) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	brand := color.NRGBA{0x1d, 0x4e, 0xd8, 0xff}
	const grid = 4
	unit := 32 / float64(n) // the SVG's 32-unit box
	for y := range n {
		for x := range n {
			var inBox, inMark int
			for sy := range grid {
				for sx := range grid {
					u := (float64(x) + (float64(sx)+.5)/grid) * unit
					v := (float64(y) + (float64(sy)+.5)/grid) * unit
					if !rounded || inRounded(u, v, 32, 7) {
						inBox++
						if abs(u-16)+abs(v-16) <= 10 {
							inMark++
						}
					}
				}
			}
			if inBox == 0 {
				continue
			}
			// Mix white over the brand colour by the mark's share.
			t := float64(inMark) / float64(inBox)
			mix := func(c uint8) uint8 { return uint8(float64(c)*(1-t) + 255*t + .5) }
			img.SetNRGBA(x, y, color.NRGBA{mix(brand.R), mix(brand.G), mix(brand.B), uint8(255*inBox/(grid*grid) + 0)})
		}
	}
	return img
}

func inRounded(u, v, size, r float64) bool {
	cx := min(max(u, r), size-r)
	cy := min(max(v, r), size-r)
	return (u-cx)*(u-cx)+(v-cy)*(v-cy) <= r*r
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func (s *Server) handleRobots(c echo.Context) error  { return s.site.robots.serve(c, http.StatusOK) }
func (s *Server) handleSitemap(c echo.Context) error { return s.site.sitemap.serve(c, http.StatusOK) }
func (s *Server) handleAtom(c echo.Context) error    { return s.site.atom.serve(c, http.StatusOK) }
func (s *Server) handleFavicon(c echo.Context) error { return s.site.favicon.serve(c, http.StatusOK) }
func (s *Server) handleTouchIcon(c echo.Context) error {
	return s.site.touchIcon.serve(c, http.StatusOK)
}
func (s *Server) handleArticles(c echo.Context) error { return s.site.articles.serve(c, http.StatusOK) }
func (s *Server) handlePrivacy(c echo.Context) error  { return s.site.privacy.serve(c, http.StatusOK) }
