// Package templates holds the site's embedded assets: page layouts, article sources, email templates and static files.
package templates
