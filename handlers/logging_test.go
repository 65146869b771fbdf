package handlers_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"leadbook/handlers"
)

func TestLogHandlerAddsRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(handlers.LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	ctx := handlers.WithRequestID(t.Context(), "abc-1")
	log.InfoContext(ctx, "with request")
	log.Info("without request")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines %q", lines)
	}
	var first, second map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if first["request_id"] != "abc-1" || first["component"] != "test" {
		t.Errorf("line with context: %v", first)
	}
	if _, ok := second["request_id"]; ok {
		t.Errorf("line without a request has an ID: %v", second)
	}
	if handlers.LogHandler(log.Handler()) != log.Handler() {
		t.Error("LogHandler wraps twice")
	}
}
