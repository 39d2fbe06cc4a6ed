package procid

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
)

func TestSelfParsesAndIsNotDead(t *testing.T) {
	id, ok := Parse(Self())
	if !ok {
		t.Fatalf("Parse(Self() = %q) failed", Self())
	}
	if id.PID != os.Getpid() {
		t.Fatalf("Self() pid = %d, want %d", id.PID, os.Getpid())
	}
	if Dead(Self()) {
		t.Fatal("Dead(Self()) = true")
	}
}

// TestDeadAfterExit: a child process of this machine is alive while it runs, dead once it has
// exited and been reaped; an id of the same pid with another start time (the pid reused) is dead.
func TestDeadAfterExit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Dead can only tell on Linux (it reads /proc); elsewhere it always says false")
	}
	if bootID() == "-" {
		t.Skip("no readable /proc/sys/kernel/random/boot_id here, so Dead cannot tell")
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start a child process: %v", err)
	}
	pid := cmd.Process.Pid
	child := Of(pid)
	if Dead(child) {
		t.Fatalf("Dead(%q) = true while it runs", child)
	}
	reused := format(hostname(), bootID(), pid, "1")
	if !Dead(reused) {
		t.Fatalf("Dead(%q) = false for the pid with another start time", reused)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if !Dead(child) {
		t.Fatalf("Dead(%q) = false after the child exited", child)
	}
}

func TestDeadIsFalseWhenItCannotTell(t *testing.T) {
	id, _ := Parse(Self())
	for _, s := range []string{
		"",
		"garbage",
		"a/b/c/d",
		"otherhost/" + id.Boot + "/1/1", // another machine
		id.Host + "/zzzzzzzz/" + "999999999" + "/1",   // another boot
		id.Host + "/-/" + strconv.Itoa(id.PID) + "/-", // unknown boot and start
		id.Host + "/" + id.Boot + "/0/1",              // no such pid
	} {
		if Dead(s) {
			t.Errorf("Dead(%q) = true, want false", s)
		}
	}
}

func TestParseStartTime(t *testing.T) {
	for _, c := range []struct{ stat, want string }{
		{"1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 42 1000 1 18446744073709551615", "42"},
		{"7 (a) b) (c) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 99 1000", "99"},
		{"7 (short) S 0", "-"},
		{"no paren", "-"},
		{"7 (x) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 notanumber 1000", "-"},
	} {
		if got := parseStartTime(c.stat); got != c.want {
			t.Errorf("parseStartTime(%q) = %q, want %q", c.stat, got, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Self())
	f.Add("h/b/1/2")
	f.Add("//0/")
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := Parse(s)
		if !ok {
			return
		}
		if back := format(id.Host, id.Boot, id.PID, id.Start); back != s {
			// Parse accepts only what format makes, apart from a pid written with a sign or zeros.
			if _, again := Parse(back); !again {
				t.Fatalf("Parse(%q) = %+v, whose format %q does not parse", s, id, back)
			}
		}
	})
}

func FuzzParseStartTime(f *testing.F) {
	f.Add("1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 42 1000")
	f.Fuzz(func(t *testing.T, s string) {
		got := parseStartTime(s)
		if got != "-" {
			if _, err := strconv.ParseUint(got, 10, 64); err != nil {
				t.Fatalf("parseStartTime(%q) = %q, not a number", s, got)
			}
		}
	})
}
