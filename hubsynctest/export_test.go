package hubsynctest

import (
	"fmt"
	"slices"
	"strings"
)

// RawConnections prints the connections and LMS connections m keeps, as it keeps them (tokens in their stored form),
// for storetest.RunSealing in the external tests.
func RawConnections(m *MemStore) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var lines []string
	for _, c := range m.d.conns {
		lines = append(lines, fmt.Sprintf("%+v", c))
	}
	for _, c := range m.d.lms {
		lines = append(lines, fmt.Sprintf("%+v", c))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
