package templates

import "embed"

// Email holds the email templates under email/: for each message NAME a
// text/template NAME.txt.tmpl, which also defines the "subject" template,
// and an html/template NAME.html.tmpl, which defines "content" (and
// optionally "preheader") for the shared layout.html.tmpl. The mailer
// package parses them once at start-up.
//
//go:embed email
var Email embed.FS
