//go:build aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// haveWinsize: this platform answers TIOCGWINSZ.
const haveWinsize = true

// winsize asks the terminal f for its width in columns (TIOCGWINSZ); false when f is not a
// terminal.
func winsize(f *os.File) (int, bool) {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0, false
	}
	return int(ws.Col), true
}
