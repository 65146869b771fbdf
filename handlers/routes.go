package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

var getHead = []string{http.MethodGet, http.MethodHead}

// routes registers every route of the site in one place.
func (s *Server) routes(e *echo.Echo) {
	e.Match(getHead, "/", s.handleIndex)
	e.Match(getHead, "/articles/:slug", s.handleArticleShow)
	e.Match(getHead, "/contact", s.handleContactShow)
	e.Match(getHead, "/contact/thanks", s.handleContactThanks)
	e.Match(getHead, "/static/*", s.handleStatic)
	e.Match(getHead, "/articles", s.handleArticles)
	e.Match(getHead, "/articles.atom", s.handleAtom)
	e.Match(getHead, "/privacy", s.handlePrivacy)
	e.Match(getHead, "/robots.txt", s.handleRobots)
	e.Match(getHead, "/sitemap.xml", s.handleSitemap)
	e.Match(getHead, "/favicon.ico", s.handleFavicon)
	e.Match(getHead, "/apple-touch-icon.png", s.handleTouchIcon)
	e.Match(getHead, "/livez", s.handleLivez)
	e.Match(getHead, "/readyz", s.handleReadyz)
	if s.deps.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(s.deps.Metrics))
	}

	post := e.Group("", s.crossOrigin, middleware.BodyLimit(s.cfg.BodyLimit))
	post.POST("/contact", s.handleLeadCreate)

	if s.booking != nil {
		e.Match(getHead, "/book", s.handleBookShow)
		e.Match(getHead, "/book/received", s.handleBookReceived)
		e.Match(getHead, "/book/held", s.handleBookHeld)
		e.Match(getHead, "/api/slots", s.handleSlotsList)
		e.Match(getHead, "/bookings/:token", s.handleBookingShow)
		e.Match(getHead, "/bookings/:token/invite.ics", s.handleBookingInvite)
		e.Match(getHead, "/bookings/:token/rebook", s.handleRebookShow)
		e.Match(getHead, "/calendar/:file", s.handleCalendarFeed)
		post.POST("/book", s.handleBookingCreate)
		post.POST("/bookings/:token/cancel", s.handleBookingCancel)
		post.POST("/bookings/:token/confirm", s.handleBookingConfirm)
		post.POST("/bookings/:token/reschedule", s.handleBookingReschedule)
	}
	s.staffRoutes(e)
	s.apiRoutes(e)
}
