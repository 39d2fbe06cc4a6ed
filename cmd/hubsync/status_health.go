package main

import (
	"strings"

	"github.com/hubsync/hubsync"
)

// exitDegraded is status's exit code for a degraded school (a lost connection, invalid mapping
// rows, dead jobs), so a cron job can alert on it.
const exitDegraded = 4

// healthLine is the status table's health row.
func healthLine(st hubsync.SchoolStatus) string {
	if !st.Degraded {
		return "ok"
	}
	codes := make([]string, len(st.Problems))
	for i, p := range st.Problems {
		codes[i] = p.Code
	}
	return "DEGRADED: " + strings.Join(codes, ", ")
}

// degradedExit is status's outcome once the status is printed: nil, or exit code 4 with a line
// naming the problems.
func degradedExit(st hubsync.SchoolStatus) error {
	if !st.Degraded {
		return nil
	}
	msgs := make([]string, len(st.Problems))
	for i, p := range st.Problems {
		msgs[i] = p.Message
	}
	return &exitError{code: exitDegraded, msg: "school " + string(st.School) + " is degraded: " + strings.Join(msgs, "; ")}
}
