package hubsync

import "fmt"

// A school's health, as Status reports it: degraded when something needs a person.

// Problem codes of a degraded school (StatusProblem.Code).
const (
	// ProblemConnectionLost: HubSpot refused the refresh token (the app was uninstalled or access
	// revoked); nothing syncs until the school is reconnected.
	ProblemConnectionLost = "connection_lost"
	// ProblemInvalidMapping: some mapping rows are invalid against the portal's schema and are
	// skipped (SchoolStatus.MappingWarning says which).
	ProblemInvalidMapping = "invalid_mapping"
	// ProblemDeadJobs: the school's queue holds dead-lettered jobs, work that will not run again
	// unless replayed.
	ProblemDeadJobs = "dead_jobs"
)

// StatusProblem is one reason a school is degraded.
type StatusProblem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// health sets st.Degraded and st.Problems from the rest of st: a lost connection, a mapping with
// invalid rows, dead jobs. A school never connected is not degraded (it is not set up yet).
func (st *SchoolStatus) health() {
	st.Problems = nil
	if st.Deactivated {
		st.Problems = append(st.Problems, StatusProblem{ProblemConnectionLost, "the HubSpot connection was lost: " + st.DeactivatedReason})
	}
	if st.MappingWarning != "" {
		st.Problems = append(st.Problems, StatusProblem{ProblemInvalidMapping, st.MappingWarning})
	}
	if st.Queue.Dead > 0 {
		st.Problems = append(st.Problems, StatusProblem{ProblemDeadJobs, fmt.Sprintf("%d dead-lettered job(s) in the queue", st.Queue.Dead)})
	}
	st.Degraded = len(st.Problems) > 0
}
