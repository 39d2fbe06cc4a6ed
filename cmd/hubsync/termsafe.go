package main

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// termSafe returns outside text (a HubSpot or LearnWorlds message, an OAuth error description,
// anything a server or a web page chose) fit to print on a terminal: line breaks and tabs become
// spaces, every other control character (C0, DEL, C1: ESC and CSI start the sequences that move
// the cursor, recolour, retitle or query the terminal) and the Unicode bidirectional controls
// (which reorder what is shown) are dropped, and invalid UTF-8 becomes U+FFFD. Every place the
// command prints text it did not write goes through it.
func termSafe(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case unsafeRune(r):
		default:
			b.WriteRune(r) // an invalid byte arrives as utf8.RuneError and is written as U+FFFD
		}
	}
	return b.String()
}

// unsafeRune reports a control character or a bidirectional formatting character.
func unsafeRune(r rune) bool {
	switch {
	case unicode.IsControl(r): // C0, DEL and C1
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	}
	return false
}

// termSafeShort is termSafe cut to at most n runes, for outside text that could be long.
func termSafeShort(s string, n int) string {
	s = termSafe(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "..."
}
