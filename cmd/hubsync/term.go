package main

import (
	"io"
	"os"
	"strconv"
)

// isTerminal reports whether w is a terminal: a character device that answers the terminal
// size request (so /dev/null, also a character device, is not one).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	_, ok = winsize(f)
	return ok || !haveWinsize
}

// defaultWidth is the width assumed when neither the terminal nor $COLUMNS says.
const defaultWidth = 80

// termWidth is the width in columns of the terminal w writes to: the terminal's own answer
// (asked at each call, so a resized window is followed), else $COLUMNS, else 80.
func termWidth(w io.Writer, getenv func(string) string) int {
	if f, ok := w.(*os.File); ok {
		if n, ok := winsize(f); ok && n > 0 {
			return n
		}
	}
	if n, err := strconv.Atoi(getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return defaultWidth
}
