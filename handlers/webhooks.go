package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"leadbook/leads"
	"leadbook/mailer"
)

// WebhookAdmin is what /staff/webhooks needs from the system of record.
type WebhookAdmin interface {
	AddWebhook(ctx context.Context, rawURL string, events []string, by leads.Actor) (*leads.WebhookEndpoint, string, error)
	ListWebhooks(ctx context.Context) ([]leads.WebhookEndpoint, error)
	DisableWebhook(ctx context.Context, id int64, reason string, by leads.Actor) error
	EnableWebhook(ctx context.Context, id int64, by leads.Actor) error
	RemoveWebhook(ctx context.Context, id int64, by leads.Actor) error
	TestWebhook(ctx context.Context, id int64, by leads.Actor) error
	WebhookDeliveries(ctx context.Context, id int64, limit int) ([]leads.OutboxMessage, error)
	FindMail(ctx context.Context, id int64) (leads.OutboxMessage, error)
	RetryDeadMail(ctx context.Context, id int64, by leads.Actor) error
}

type webhookDelivery struct {
	ID, Endpoint int64
	CreatedAt    time.Time
	Event        string
	Status       string
	Attempts     int
	LastError    string
}

type webhookView struct {
	leads.WebhookEndpoint
	Deliveries []webhookDelivery
}

type eventChoice struct {
	Name    string
	Checked bool
}

var webhookNotices = map[string]string{
	"disabled": "The endpoint is disabled; its queued deliveries were withdrawn.",
	"enabled":  "The endpoint is enabled again.",
	"removed":  "The endpoint and its deliveries were removed.",
	"tested":   "A test event is queued.",
	"retried":  "The delivery is queued again.",
}

// webhookForm is what the add form posts.
type webhookForm struct {
	URL    string   `form:"url"`
	Events []string `form:"events"`
}

func (s *Server) renderWebhooks(c echo.Context, status int, form webhookForm, formErr string, added *leads.WebhookEndpoint, secret string) error {
	ctx := c.Request().Context()
	eps, err := s.staff.Webhooks.ListWebhooks(ctx)
	if err != nil {
		return err
	}
	views := make([]webhookView, len(eps))
	for i, ep := range eps {
		views[i].WebhookEndpoint = ep
		rows, err := s.staff.Webhooks.WebhookDeliveries(ctx, ep.ID, 20)
		if err != nil {
			return err
		}
		for _, r := range rows {
			var body struct {
				Type string `json:"type"`
			}
			_ = json.Unmarshal(r.Payload, &body)
			views[i].Deliveries = append(views[i].Deliveries, webhookDelivery{ID: r.ID, Endpoint: ep.ID, CreatedAt: r.CreatedAt,
				Event: body.Type, Status: r.Status, Attempts: r.Attempts, LastError: r.LastError})
		}
	}
	choices := make([]eventChoice, len(leads.WebhookEvents))
	for i, e := range leads.WebhookEvents {
		choices[i] = eventChoice{Name: e, Checked: form.Events == nil || slices.Contains(form.Events, e)}
	}
	return s.renderStaff(c, status, "staff_webhooks", "Webhooks", "webhooks", map[string]any{
		"Endpoints": views, "Events": choices, "URL": form.URL, "Error": formErr,
		"Added": added, "Secret": secret, "Notice": webhookNotices[c.QueryParam("notice")],
	})
}

func (s *Server) handleWebhooksShow(c echo.Context) error {
	return s.renderWebhooks(c, http.StatusOK, webhookForm{}, "", nil, "")
}

func (s *Server) handleWebhookAdd(c echo.Context) error {
	var f webhookForm
	if err := c.Bind(&f); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if f.Events == nil {
		f.Events = []string{}
	}
	invalid := func(err error) error {
		if leads.ErrorCode(err) != leads.EINVALID {
			return err
		}
		return s.renderWebhooks(c, http.StatusUnprocessableEntity, f, httpMessage(err), nil, "")
	}
	if err := mailer.CheckWebhookTarget(ctx, f.URL, s.staff.AllowPrivateWebhooks); err != nil {
		return invalid(err)
	}
	ep, secret, err := s.staff.Webhooks.AddWebhook(ctx, f.URL, f.Events, authOf(c).actor)
	if err != nil {
		return invalid(err)
	}
	// The secret is shown in this answer and never again: no redirect.
	return s.renderWebhooks(c, http.StatusOK, webhookForm{}, "", ep, secret)
}

func (s *Server) webhookAction(c echo.Context, notice string, act func(ctx context.Context, id int64, by leads.Actor) error) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	if err := act(c.Request().Context(), id, authOf(c).actor); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/staff/webhooks?notice="+notice)
}

func (s *Server) handleWebhookDisable(c echo.Context) error {
	return s.webhookAction(c, "disabled", func(ctx context.Context, id int64, by leads.Actor) error {
		return s.staff.Webhooks.DisableWebhook(ctx, id, "disabled by "+by.String(), by)
	})
}

func (s *Server) handleWebhookEnable(c echo.Context) error {
	return s.webhookAction(c, "enabled", s.staff.Webhooks.EnableWebhook)
}

func (s *Server) handleWebhookRemove(c echo.Context) error {
	return s.webhookAction(c, "removed", s.staff.Webhooks.RemoveWebhook)
}

func (s *Server) handleWebhookTest(c echo.Context) error {
	return s.webhookAction(c, "tested", func(ctx context.Context, id int64, by leads.Actor) error {
		if err := s.staff.Webhooks.TestWebhook(ctx, id, by); err != nil {
			return err
		}
		s.deps.Outbox.Wake()
		return nil
	})
}

func (s *Server) handleWebhookRetry(c echo.Context) error {
	return s.webhookAction(c, "retried", func(ctx context.Context, id int64, by leads.Actor) error {
		m, err := s.staff.Webhooks.FindMail(ctx, id)
		if err != nil {
			return err
		}
		if m.Kind != leads.KindWebhook {
			return leads.Errorf(leads.ENOTFOUND, "No such webhook delivery.")
		}
		if err := s.staff.Webhooks.RetryDeadMail(ctx, id, by); err != nil {
			return err
		}
		s.deps.Outbox.Wake()
		return nil
	})
}
