// Package quietlog is the logger a hubsync part uses when the host gives it none: the host's
// default logger (slog.Default), but only at WARN and above. A library does not fill its
// host's logs with INFO lines it was not asked for; warnings and errors (a lost connection, a
// record dropped) still reach them.
package quietlog

import (
	"context"
	"log/slog"
)

// Default returns slog.Default's handler, as it is when called, below WARN discarded.
func Default() *slog.Logger {
	return slog.New(atLeast{h: slog.Default().Handler(), min: slog.LevelWarn})
}

// atLeast passes records of level min and above to h.
type atLeast struct {
	h   slog.Handler
	min slog.Level
}

func (a atLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= a.min && a.h.Enabled(ctx, l)
}

func (a atLeast) Handle(ctx context.Context, r slog.Record) error { return a.h.Handle(ctx, r) }

func (a atLeast) WithAttrs(attrs []slog.Attr) slog.Handler {
	return atLeast{h: a.h.WithAttrs(attrs), min: a.min}
}

func (a atLeast) WithGroup(name string) slog.Handler {
	return atLeast{h: a.h.WithGroup(name), min: a.min}
}
