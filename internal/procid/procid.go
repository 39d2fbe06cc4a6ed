// Package procid names the running process uniquely among the processes that share a store, and
// tells whether a process so named on this machine has died, so an engine can take back at once
// the jobs a crashed process of the same machine held, instead of waiting out their leases.
//
// An id is "host/boot/pid/start": the host name, the first 8 characters of the kernel's boot id,
// the process id, and the process's start time in clock ticks since boot. The boot id and start
// time make a reused pid (after a reboot, or a restarted container on the same host) a different
// id. Where they cannot be read (not Linux, no /proc), they are "-", and Dead never says such a
// process has died: it cannot tell, so the leases run out as usual.
package procid

import (
	"os"
	"strconv"
	"strings"
	"sync"
)

// procRoot is where the proc filesystem is mounted; tests point it at a fixture.
var procRoot = "/proc"

var self = sync.OnceValue(func() string {
	return Of(os.Getpid())
})

// Self returns this process's id.
func Self() string { return self() }

// Of returns the id of the process pid of this machine, as that process's Self would return it
// (its start time "-" when no such process runs).
func Of(pid int) string { return format(hostname(), bootID(), pid, startTime(pid)) }

// ID is a parsed process id.
type ID struct {
	Host  string
	Boot  string // "-" when unknown
	PID   int
	Start string // "-" when unknown
}

// Parse splits an id made by Self; ok is false when s is not one.
func Parse(s string) (id ID, ok bool) {
	parts := strings.Split(s, "/")
	if len(parts) != 4 || parts[0] == "" || parts[1] == "" || parts[3] == "" {
		return ID{}, false
	}
	pid, err := strconv.Atoi(parts[2])
	if err != nil || pid <= 0 {
		return ID{}, false
	}
	return ID{Host: parts[0], Boot: parts[1], PID: pid, Start: parts[3]}, true
}

// Dead reports whether s names a process of this machine, since its last boot, that no longer
// runs: no process has its pid, or the process with its pid started at another time. It is false
// for this process, for another machine's or another boot's process, for an id it cannot parse,
// and whenever it cannot tell.
func Dead(s string) bool {
	id, ok := Parse(s)
	if !ok || s == Self() || id.Boot == "-" || id.Start == "-" {
		return false
	}
	if id.Host != hostname() || id.Boot != bootID() {
		return false
	}
	if _, err := os.Stat(procRoot + "/self"); err != nil {
		return false // no proc filesystem to look in: cannot tell
	}
	start := startTime(id.PID)
	return start != id.Start
}

func format(host, boot string, pid int, start string) string {
	return host + "/" + boot + "/" + strconv.Itoa(pid) + "/" + start
}

// hostname is the host name with "/" (never in a host name, but ids split on it) replaced.
func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "unknown-host"
	}
	return strings.ReplaceAll(h, "/", "_")
}

// bootID is the first 8 characters of the kernel's boot id, or "-".
func bootID() string {
	b, err := os.ReadFile(procRoot + "/sys/kernel/random/boot_id")
	id := strings.TrimSpace(string(b))
	if err != nil || len(id) < 8 {
		return "-"
	}
	return id[:8]
}

// startTime is field 22 of /proc/<pid>/stat (the start time in clock ticks since boot), or "-"
// when the process does not exist or the file cannot be read. The second field (the command name,
// in parentheses) may hold spaces and parentheses, so fields are counted after its last ')'.
func startTime(pid int) string {
	b, err := os.ReadFile(procRoot + "/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "-"
	}
	return parseStartTime(string(b))
}

func parseStartTime(stat string) string {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return "-"
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state), so field 22 is f[19].
	if len(f) < 20 {
		return "-"
	}
	if _, err := strconv.ParseUint(f[19], 10, 64); err != nil {
		return "-"
	}
	return f[19]
}
