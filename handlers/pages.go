package handlers

import (
	"compress/gzip"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"leadbook/templates"
)

// livePage is a page that carries a form: it is rendered with a fresh form
// token at most once per refresh interval and served from memory (plain and
// gzip) in between, so a busy article costs a header check and one write.
type livePage struct {
	render  func(token string) ([]byte, error)
	refresh time.Duration
	cur     atomic.Pointer[liveSnapshot]
	mu      sync.Mutex
}

type liveSnapshot struct {
	page *asset
	at   time.Time
}

func (p *livePage) get(s *Server) (*asset, error) {
	now := s.now()
	snap := p.cur.Load()
	if snap != nil && now.Sub(snap.at) < p.refresh && !now.Before(snap.at) {
		return snap.page, nil
	}
	// One goroutine renders; the others keep serving the previous copy.
	if snap != nil && !p.mu.TryLock() {
		return snap.page, nil
	}
	if snap == nil {
		p.mu.Lock()
	}
	defer p.mu.Unlock()
	if cur := p.cur.Load(); cur != snap && cur != nil {
		return cur.page, nil
	}
	body, err := p.render(s.tokens.issue(now))
	if err != nil {
		return nil, err
	}
	a, err := newAssetLevel(body, "text/html; charset=utf-8", "no-cache", gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	p.cur.Store(&liveSnapshot{page: a, at: now})
	return a, nil
}

// articleSet holds the rendered articles and their pages.
type articleSet struct {
	list    []templates.Article
	bySlug  map[string]*templates.Article
	pages   map[string]*livePage
	index   *asset
	contact *livePage
	thanks  *asset
}

func (s *Server) newArticleSet(list []templates.Article) (*articleSet, error) {
	set := &articleSet{list: list, bySlug: map[string]*templates.Article{}, pages: map[string]*livePage{}}
	for i := range list {
		set.bySlug[list[i].Slug] = &list[i]
	}
	for i := range list {
		a := &list[i]
		set.pages[a.Slug] = &livePage{refresh: s.cfg.PageRefresh, render: func(token string) ([]byte, error) {
			return s.renderArticle(a, s.newContactForm(a.Slug, token))
		}}
	}
	set.contact = &livePage{refresh: s.cfg.PageRefresh, render: func(token string) ([]byte, error) {
		return s.renderContact(s.newContactForm("", token))
	}}
	s.articles = set
	body, err := s.renderIndex()
	if err != nil {
		return nil, err
	}
	if set.index, err = newAsset(body, "text/html; charset=utf-8", "no-cache"); err != nil {
		return nil, err
	}
	thanks := s.page("Thank you for leaving your details", "", "contact", nil)
	thanks.NoIndex = true
	thanks.Canonical = s.cfg.BaseURL + "/contact/thanks"
	if body, err = s.pages.render("thanks", thanks); err != nil {
		return nil, err
	}
	if set.thanks, err = newAsset(body, "text/html; charset=utf-8", "no-cache"); err != nil {
		return nil, err
	}
	// Render every page once now: a template error stops start-up instead
	// of surfacing on the first visit.
	for slug, p := range set.pages {
		if _, err := p.get(s); err != nil {
			return nil, fmt.Errorf("handlers: article %s: %w", slug, err)
		}
	}
	if _, err := set.contact.get(s); err != nil {
		return nil, err
	}
	return set, nil
}

func (s *Server) renderIndex() ([]byte, error) {
	p := s.page("", "Insights on technology leadership, architecture and product design.", "articles",
		map[string]any{"Articles": s.articles.list})
	p.Canonical = s.cfg.BaseURL + "/"
	return s.pages.render("index", p)
}

func (s *Server) page(title, description, nav string, data any) *page {
	return &page{
		Title: title, Description: description, Site: s.cfg.SiteName, Nav: nav,
		Year: s.now().Year(), Assets: s.assets, Data: data, BaseURL: s.cfg.BaseURL, Contact: s.cfg.Contact,
	}
}

func (s *Server) newContactForm(slug, token string) *formView {
	return &formView{Prefix: "contact", Page: slug, Token: token, Values: map[string]string{},
		Errors: map[string]string{}, ConsentText: ConsentText}
}

func (s *Server) renderArticle(a *templates.Article, form *formView) ([]byte, error) {
	related := make([]templates.Article, 0, len(a.Related))
	for _, slug := range a.Related {
		if r, ok := s.articles.bySlug[slug]; ok {
			related = append(related, *r)
		}
	}
	p := s.page(a.Title, a.Summary, "articles", map[string]any{"Article": a, "Form": form, "Related": related})
	p.Canonical = s.cfg.BaseURL + "/articles/" + a.Slug
	p.OGType = "article"
	ld, err := articleJSONLD(s.cfg.BaseURL, s.cfg.SiteName, a)
	if err != nil {
		return nil, err
	}
	p.JSONLD = ld
	return s.pages.render("article", p)
}

func (s *Server) renderContact(form *formView) ([]byte, error) {
	p := s.page("Contact us", "Leave your details and we will get back to you.", "contact",
		map[string]any{"Form": form})
	p.Canonical = s.cfg.BaseURL + "/contact"
	return s.pages.render("contact", p)
}

// The public pages below are served from their cached copies, but on a
// visit that carries a first touch (see visit): those pages are rendered
// for the request, with the value in their links and forms.

func (s *Server) handleIndex(c echo.Context) error {
	if _, signed := s.visit(c); signed != "" {
		body, err := s.renderIndex()
		if err != nil {
			return err
		}
		return s.serveCarried(c, http.StatusOK, body, signed)
	}
	return s.articles.index.serve(c, http.StatusOK)
}

func (s *Server) handleArticleShow(c echo.Context) error {
	slug := c.Param("slug")
	p, ok := s.articles.pages[slug]
	if !ok {
		return echo.ErrNotFound
	}
	art := s.articles.bySlug[slug]
	if at, signed := s.visit(c); signed != "" {
		s.countView(c.Request(), art.Slug, &at)
		body, err := s.renderArticle(art, s.newContactForm(art.Slug, s.tokens.issue(s.now())))
		if err != nil {
			return err
		}
		return s.serveCarried(c, http.StatusOK, body, signed)
	}
	s.countView(c.Request(), art.Slug, nil)
	a, err := p.get(s)
	if err != nil {
		return err
	}
	return a.serve(c, http.StatusOK)
}

func (s *Server) handleContactShow(c echo.Context) error {
	if _, signed := s.visit(c); signed != "" {
		body, err := s.renderContact(s.newContactForm("", s.tokens.issue(s.now())))
		if err != nil {
			return err
		}
		return s.serveCarried(c, http.StatusOK, body, signed)
	}
	a, err := s.articles.contact.get(s)
	if err != nil {
		return err
	}
	return a.serve(c, http.StatusOK)
}

func (s *Server) handleContactThanks(c echo.Context) error {
	return s.articles.thanks.serve(c, http.StatusOK)
}

func (s *Server) handleStatic(c echo.Context) error {
	a, ok := s.static[c.Param("*")]
	if !ok {
		return echo.ErrNotFound
	}
	if v := c.QueryParam("v"); v == "" || v != a.etag[1:11] {
		// Only a fingerprinted URL may be cached for good.
		cp := *a
		cp.cache = "no-cache"
		a = cp.prepare()
	}
	return a.serve(c, http.StatusOK)
}

// renderHTML renders a page and writes it with status.
func (s *Server) renderHTML(c echo.Context, status int, name string, p *page) error {
	body, err := s.pages.render(name, p)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, body)
}
