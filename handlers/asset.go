package handlers

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"leadbook/templates"
)

// asset is a response body prepared once: the bytes, their gzip form and an
// ETag, so serving it is a header check and one write.
type asset struct {
	body        []byte
	gz          []byte
	etag        string
	contentType string
	cache       string

	// Header values, made once: the hot path assigns them without
	// allocating.
	hType, hETag, hCache, hLen, hGzLen []string
}

var (
	hVary     = []string{"Accept-Encoding"}
	hEncoding = []string{"gzip"}
)

func (a *asset) prepare() *asset {
	a.hType, a.hETag, a.hCache = []string{a.contentType}, []string{a.etag}, []string{a.cache}
	a.hLen, a.hGzLen = []string{strconv.Itoa(len(a.body))}, []string{strconv.Itoa(len(a.gz))}
	return a
}

func newAsset(body []byte, contentType, cache string) (*asset, error) {
	return newAssetLevel(body, contentType, cache, gzip.BestCompression)
}

// newAssetLevel is newAsset with a gzip level: pages re-rendered every
// second take the default level, a third of the work of the best for a
// few percent more bytes.
func newAssetLevel(body []byte, contentType, cache string, level int) (*asset, error) {
	sum := sha256.Sum256(body)
	a := &asset{
		body:        body,
		etag:        `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`,
		contentType: contentType,
		cache:       cache,
	}
	if len(body) >= 512 {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, level)
		if err != nil {
			return nil, err
		}
		if _, err := zw.Write(body); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		if buf.Len() < len(body) {
			a.gz = buf.Bytes()
		}
	}
	return a.prepare(), nil
}

// serve writes the asset, honouring If-None-Match and Accept-Encoding.
func (a *asset) serve(c echo.Context, status int) error {
	w := c.Response()
	h := w.Header()
	r := c.Request()
	h["Content-Type"] = a.hType
	h["Etag"] = a.hETag
	h["Cache-Control"] = a.hCache
	if a.gz != nil {
		h["Vary"] = hVary
	}
	if status == http.StatusOK && etagMatch(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	body, length := a.body, a.hLen
	if a.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body, length = a.gz, a.hGzLen
		h["Content-Encoding"] = hEncoding
	}
	h["Content-Length"] = length
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err := w.Write(body)
	return err
}

func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == etag {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip (and
// does not give it q=0).
func acceptsGzip(header string) bool {
	for header != "" {
		var part string
		part, header, _ = strings.Cut(header, ",")
		name, params, _ := strings.Cut(part, ";")
		name = strings.TrimSpace(name)
		if !strings.EqualFold(name, "gzip") && name != "*" {
			continue
		}
		params = strings.ReplaceAll(params, " ", "")
		if q, ok := strings.CutPrefix(params, "q="); ok && (q == "0" || strings.HasPrefix(q, "0.000") || q == "0.0" || q == "0.00") {
			return false
		}
		return true
	}
	return false
}

// assetPaths are the fingerprinted URLs of the static files.
type assetPaths struct {
	CSS, JS, Icon string
}

// staticFiles loads templates/static into memory.
func staticFiles() (map[string]*asset, assetPaths, error) {
	files := map[string]*asset{}
	var paths assetPaths
	err := fs.WalkDir(templates.Static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templates.Static, p)
		if err != nil {
			return err
		}
		ctype := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".css":
			ctype = "text/css; charset=utf-8"
		case ".js":
			ctype = "text/javascript; charset=utf-8"
		case ".svg":
			ctype = "image/svg+xml"
		}
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		a, err := newAsset(b, ctype, "public, max-age=31536000, immutable")
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		files[name] = a
		url := "/static/" + name + "?v=" + strings.Trim(a.etag, `"`)[:10]
		switch name {
		case "site.css":
			paths.CSS = url
		case "site.js":
			paths.JS = url
		case "icon.svg":
			paths.Icon = url
		}
		return nil
	})
	if err != nil {
		return nil, paths, fmt.Errorf("handlers: static files: %w", err)
	}
	return files, paths, nil
}
