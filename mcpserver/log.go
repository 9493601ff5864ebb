package mcpserver

import (
	"context"
	"log/slog"
)

// floorHandler drops records below a level. The SDK logs every session
// connect and disconnect at Info; on a server that serves many short
// sessions, those drown the lines that matter (executions, failures).
type floorHandler struct {
	slog.Handler
	min slog.Level
}

func (h floorHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h floorHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return floorHandler{h.Handler.WithAttrs(as), h.min}
}

func (h floorHandler) WithGroup(name string) slog.Handler {
	return floorHandler{h.Handler.WithGroup(name), h.min}
}
