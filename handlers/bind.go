package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// checkbox is a consent-style flag that binds from a form ("on", "true",
// "1", "yes") and from JSON (true or one of those strings).
type checkbox bool

// UnmarshalParam implements echo.BindUnmarshaler.
func (b *checkbox) UnmarshalParam(s string) error {
	*b = checkbox(truthy(s))
	return nil
}

// UnmarshalJSON accepts a JSON bool or string.
func (b *checkbox) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case bool:
		*b = checkbox(v)
	case string:
		*b = checkbox(truthy(v))
	case nil:
		*b = false
	default:
		return errors.New("consent must be true or false")
	}
	return nil
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "on", "true", "1", "yes":
		return true
	}
	return false
}

// bind binds the request body into v and turns binder errors into clear
// answers: 413 for a body over the limit, 415 for an unknown content type,
// 400 for a malformed one.
func bind(c echo.Context, v any) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if c.Request().ContentLength != 0 && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) &&
		!strings.HasPrefix(ct, echo.MIMEApplicationForm) && !strings.HasPrefix(ct, echo.MIMEMultipartForm) {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "Send the form as application/x-www-form-urlencoded or application/json.")
	}
	if err := (&echo.DefaultBinder{}).BindBody(c, v); err != nil {
		if errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
			return echo.ErrStatusRequestEntityTooLarge
		}
		return echo.NewHTTPError(http.StatusBadRequest, "The submission could not be read.").SetInternal(err)
	}
	return nil
}
