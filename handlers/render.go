package handlers

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"
	"sync"

	"leadbook/leads"
	"leadbook/templates"
)

// engine holds every page template, parsed once at start-up, and renders
// into pooled buffers so a template error never sends half a page.
type engine struct {
	pages map[string]*template.Template
	bufs  sync.Pool
}

func newEngine() (*engine, error) {
	funcs := template.FuncMap{
		"field": newFieldView,
		"dict":  dict,
		"words": words,
	}
	layout, err := template.New("layout").Funcs(funcs).ParseFS(templates.Pages, "pages/layout.html", "pages/partials.html", "pages/staff_layout.html")
	if err != nil {
		return nil, fmt.Errorf("handlers: parse layout: %w", err)
	}
	names, err := fs.Glob(templates.Pages, "pages/*.html")
	if err != nil {
		return nil, err
	}
	e := &engine{pages: map[string]*template.Template{}, bufs: sync.Pool{New: func() any { return new(bytes.Buffer) }}}
	for _, name := range names {
		base := path.Base(name)
		if base == "layout.html" || base == "partials.html" || base == "staff_layout.html" {
			continue
		}
		t, err := layout.Clone()
		if err == nil {
			t, err = t.ParseFS(templates.Pages, name)
		}
		if err != nil {
			return nil, fmt.Errorf("handlers: parse %s: %w", name, err)
		}
		e.pages[strings.TrimSuffix(base, ".html")] = t
	}
	return e, nil
}

// render executes the named page with data and returns the bytes.
func (e *engine) render(name string, data *page) ([]byte, error) {
	t, ok := e.pages[name]
	if !ok {
		return nil, fmt.Errorf("handlers: no page %q", name)
	}
	buf := e.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer e.bufs.Put(buf)
	layout := "layout"
	if strings.HasPrefix(name, "staff_") {
		// The dashboard has its own frame and navigation; the public
		// layout never links to it.
		layout = "staff-layout"
	}
	if err := t.ExecuteTemplate(buf, layout, data); err != nil {
		return nil, fmt.Errorf("handlers: render %s: %w", name, err)
	}
	return bytes.Clone(buf.Bytes()), nil
}

// page is what every page template receives.
type page struct {
	Title       string
	Description string
	Canonical   string
	// OGType is the Open Graph type: "website" unless set ("article").
	OGType string
	// JSONLD is structured data for the page (an Article), or empty.
	JSONLD  template.JS
	BaseURL string
	Contact Contact
	Site    string
	Nav     string
	NoIndex bool
	Year    int
	Assets  assetPaths
	Data    any
	// Staff is the signed-in member of staff on dashboard pages; nil when
	// signed in with an API token, and on public pages.
	Staff *leads.Staff
}

// formView is a form as a page shows it: the visitor's values, the field
// errors, the signed token and any status message.
type formView struct {
	Prefix      string
	Page        string
	Token       string
	Values      map[string]string
	Errors      map[string]string
	Status      string // "", "success", "error", "invalid"
	Message     string
	ConsentText string
}

// fieldView is one input, built in templates with `field`.
type fieldView struct {
	ID, Name, Label, Type, Autocomplete, Value, Error string
	Required                                          bool
	Max                                               int
}

var fieldMax = map[string]int{"name": 200, "email": 254, "company": 200, "phone": 40, "message": 5000}

func newFieldView(f *formView, name, label, typ, autocomplete string, required bool) fieldView {
	return fieldView{
		ID: f.Prefix + "-" + name, Name: name, Label: label, Type: typ, Autocomplete: autocomplete,
		Value: f.Values[name], Error: f.Errors[name], Required: required, Max: fieldMax[name],
	}
}

func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}
