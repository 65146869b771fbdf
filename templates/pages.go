package templates

import "embed"

// Pages holds the HTML page layouts (html/template sources). Every page
// file defines "content" and is parsed together with layout.html and
// partials.html.
//
//go:embed pages/*.html
var Pages embed.FS

// Static holds the site's CSS, JavaScript and images, served under /static/.
//
//go:embed static
var Static embed.FS
