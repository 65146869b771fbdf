package templates

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"unicode/utf8"
)

// DefaultPrivacy is the privacy notice shown when the owner gives no file
// of their own (Markdown).
//
//go:embed site/privacy.md
var DefaultPrivacy []byte

// RenderMarkdown renders a Markdown document the site's owner wrote (the
// privacy notice) as articles are rendered: raw HTML is dropped, so the
// result is safe to output unescaped.
func RenderMarkdown(name string, src []byte) (template.HTML, error) {
	if !utf8.Valid(src) {
		return "", fmt.Errorf("templates: %s: not valid UTF-8", name)
	}
	var buf bytes.Buffer
	if err := newMarkdown().Convert(src, &buf); err != nil {
		return "", fmt.Errorf("templates: %s: render: %w", name, err)
	}
	if len(bytes.TrimSpace(buf.Bytes())) == 0 {
		return "", fmt.Errorf("templates: %s: empty", name)
	}
	return template.HTML(buf.String()), nil
}
