//go:build !(aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris)

package main

import "os"

// haveWinsize: this platform has no TIOCGWINSZ; isTerminal trusts the character device and
// termWidth falls back to $COLUMNS.
const haveWinsize = false

func winsize(*os.File) (int, bool) { return 0, false }
