package hubsync

import (
	"context"
	"errors"
	"time"
)

// SchoolStatus is what a settings screen or a status endpoint shows about one school. It never
// holds tokens.
type SchoolStatus struct {
	School SchoolID `json:"school"`
	// Connected is true while the school has an active HubSpot connection.
	Connected bool `json:"connected"`
	// PortalID and Domain name the connected HubSpot account.
	PortalID int64  `json:"portal_id,omitempty"`
	Domain   string `json:"domain,omitempty"`
	// Deactivated is set when the connection was lost, with when and why.
	Deactivated       bool      `json:"deactivated,omitempty"`
	DeactivatedAt     time.Time `json:"deactivated_at,omitzero"`
	DeactivatedReason string    `json:"deactivated_reason,omitempty"`
	Mode              SyncMode  `json:"mode"`
	// MappingWarning is the mapping report's warning ("" when every row is valid or the report
	// could not be made, see MappingError).
	MappingWarning string `json:"mapping_warning,omitempty"`
	MappingError   string `json:"mapping_error,omitempty"`
	// Queue counts the school's jobs.
	Queue QueueStats `json:"queue"`
	// ManualSync is the latest manual sync, nil when none ever ran; SyncInProgress is the seed's
	// "Sync in progress" indicator.
	ManualSync     *ManualProgress `json:"manual_sync,omitempty"`
	SyncInProgress bool            `json:"sync_in_progress"`
	// LastErrors are the newest per-record failures (emails masked).
	LastErrors []string `json:"last_errors,omitempty"`
	// CatchUps are the newest catch-up of each side that ran one (see CatchUpReport).
	CatchUps []CatchUpReport `json:"catch_ups,omitempty"`
	// Degraded is set when the school needs a person: its connection was lost, its mapping has
	// invalid rows, or its queue holds dead jobs; Problems says which (engine_health.go).
	Degraded bool            `json:"degraded"`
	Problems []StatusProblem `json:"problems,omitempty"`
}

// Status gathers a school's status. It reads the store (and, for the mapping warning, the cached
// property schema); a failure to read the schema is reported in MappingError, not returned.
func (e *Engine) Status(ctx context.Context, school SchoolID) (SchoolStatus, error) {
	st := SchoolStatus{School: school}
	conn, err := e.cfg.Store.GetConnection(ctx, school)
	switch {
	case err == nil:
		st.Connected = conn.Active
		st.PortalID, st.Domain = conn.PortalID, conn.Domain
		st.Deactivated = !conn.Active
		st.DeactivatedAt, st.DeactivatedReason = conn.DeactivatedAt, conn.DeactivatedReason
	case errors.Is(err, ErrNotFound):
	default:
		return st, err
	}
	settings, err := e.Settings(ctx, school)
	if err != nil {
		return st, err
	}
	st.Mode = settings.Mode.OrDefault()
	if st.Connected {
		if rep, err := e.report(ctx, school, settings); err == nil {
			st.MappingWarning = rep.Warning
		} else {
			st.MappingError = err.Error()
		}
	}
	if st.Queue, err = e.cfg.Queue.Stats(ctx, school); err != nil {
		return st, err
	}
	if p, err := e.ManualSync(ctx, school); err == nil {
		st.ManualSync = &p
		st.SyncInProgress = p.State == ManualRunning
	} else if !errors.Is(err, ErrNotFound) {
		return st, err
	}
	failed, err := e.cfg.Store.ListSyncLog(ctx, school, LogFilter{Outcome: OutcomeFailed, Limit: 5})
	if err != nil {
		return st, err
	}
	for _, f := range failed {
		st.LastErrors = append(st.LastErrors, f.At.UTC().Format(time.RFC3339)+" "+MaskEmail(f.Email)+": "+f.Reason)
	}
	for _, side := range []CatchUpSide{CatchUpHubSpot, CatchUpLMS} {
		if rep, err := e.LastCatchUp(ctx, school, side); err == nil {
			st.CatchUps = append(st.CatchUps, rep)
		} else if !errors.Is(err, ErrNotFound) {
			return st, err
		}
	}
	st.health()
	return st, nil
}
