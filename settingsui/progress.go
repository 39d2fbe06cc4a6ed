package settingsui

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/hubsync/hubsync"
)

// progressJSON is what GET /progress answers: the school's latest manual sync (none: Progress is
// nil) and the manual sync section rendered, for the page's script to swap in without a reload.
type progressJSON struct {
	Running  bool                    `json:"running"`
	Progress *hubsync.ManualProgress `json:"progress,omitempty"`
	// Stats is the progress part of the section and Section the whole of it, as HTML.
	Stats   string `json:"stats"`
	Section string `json:"section"`
}

// serveProgress is GET /progress, polled by the page while a manual sync runs.
func (h *Handler) serveProgress(q *request) {
	st, err := h.eng.Status(q.r.Context(), q.admin.School)
	if err != nil {
		h.log.Error("settingsui: progress failed", "school", q.admin.School, "err", err)
		writeJSON(q.w, http.StatusInternalServerError, map[string]string{"error": "the manual sync's progress could not be read"})
		return
	}
	v := h.syncSection(q.admin, st)
	out := progressJSON{Running: v.Running, Progress: st.ManualSync}
	var b bytes.Buffer
	if err := h.tmpl.ExecuteTemplate(&b, "sync-stats", v); err == nil {
		out.Stats = b.String()
	}
	b.Reset()
	if err := h.tmpl.ExecuteTemplate(&b, "sync", v); err == nil {
		out.Section = b.String()
	}
	writeJSON(q.w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
