//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal of cols columns: the test reads master, the command writes to
// the returned terminal.
func openPTY(t *testing.T, cols uint16) (master, term *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open the terminal: %v", err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 30, Col: cols}); err != nil {
		t.Fatal(err)
	}
	return m, s
}

var ansiClear = regexp.MustCompile(`\x1b\[K`)

// TestProgressBarFitsTerminal runs "hubsync sync" on an 80- and a 120-column terminal: every
// line the bar draws stays within width-1 columns, so it redraws in place instead of scrolling.
func TestProgressBarFitsTerminal(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seedSchool(t, f.lw, 600)
	f.connect(t)
	for i, cols := range []uint16{80, 120} {
		master, term := openPTY(t, cols)
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		args := []string{"sync"}
		if i > 0 {
			args = append(args, "--restart")
		}
		cmd := f.command(ctx, args...)
		cmd.Env = append(cmd.Env, "COLUMNS=300") // the terminal's own width wins
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = term, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		term.Close()
		var out bytes.Buffer
		_, _ = io.Copy(&out, master) // ends with EIO once the command has closed the terminal
		err := cmd.Wait()
		cancel()
		if err != nil {
			t.Fatalf("%d columns: %v\n%s\n%s", cols, err, out.String(), stderr.String())
		}
		text := ansiClear.ReplaceAllString(out.String(), "")
		bars := 0
		for _, seg := range strings.FieldsFunc(text, func(r rune) bool { return r == '\r' || r == '\n' }) {
			if strings.HasPrefix(seg, "[") {
				bars++
			}
			if n := len([]rune(seg)); n > int(cols)-1 {
				t.Errorf("%d columns: a line of %d: %q", cols, n, seg)
			}
		}
		if bars == 0 || !strings.Contains(text, "done: 600 records") {
			t.Errorf("%d columns: no bar drawn, or no summary:\n%q", cols, text)
		}
	}
}
