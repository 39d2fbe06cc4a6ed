package settingsui

import (
	"errors"
	"net/http"
	"strings"

	"github.com/hubsync/hubsync"
)

// servePage is GET /: the settings page.
func (h *Handler) servePage(q *request) {
	p, err := h.build(q.r.Context(), q.admin)
	if err != nil {
		h.fail(q, err)
		return
	}
	p.Flash = flashes[q.r.URL.Query().Get("done")]
	h.renderPage(q.w, http.StatusOK, p)
}

// serveConnect is POST /connect: off to HubSpot's authorize page (Activate, and Reconnect).
func (h *Handler) serveConnect(q *request) {
	u, err := h.eng.AuthorizeURL(q.admin.School)
	if err != nil {
		h.problem(q, http.StatusInternalServerError, formProblem{Field: "connect", Message: "Connect to HubSpot: " + err.Error()})
		return
	}
	http.Redirect(q.w, q.r, u, http.StatusSeeOther)
}

// serveCallback is GET /oauth/callback, where HubSpot sends the admin back. The engine's signed
// state protects it (it cannot carry our CSRF token), and it must be for the admin's school.
func (h *Handler) serveCallback(q *request) {
	v := q.r.URL.Query()
	if e := v.Get("error"); e != "" {
		msg := "Connect to HubSpot: HubSpot did not authorize the app (" + e + ")."
		if e == "access_denied" {
			msg = "Connect to HubSpot: the authorization was cancelled in HubSpot; nothing changed."
		}
		h.problem(q, http.StatusBadRequest, formProblem{Field: "connect", Message: msg})
		return
	}
	school, err := h.eng.StateSchool(v.Get("state"))
	if err != nil {
		h.problem(q, http.StatusBadRequest, formProblem{Field: "connect", Message: "Connect to HubSpot: the authorization is invalid or has expired; click Connect to HubSpot to start again."})
		return
	}
	if school != q.admin.School {
		h.log.Warn("settingsui: OAuth callback for another school refused", "school", q.admin.School)
		h.refuse(q.w, q.r, http.StatusForbidden, "This HubSpot authorization was started for another school: start it again from this school's settings page.")
		return
	}
	conn, err := h.eng.CompleteConnect(q.r.Context(), q.admin.School, v.Get("code"), v.Get("state"))
	if err != nil {
		h.problem(q, http.StatusBadGateway, formProblem{Field: "connect", Message: "Connect to HubSpot failed: " + err.Error()})
		return
	}
	h.log.Info("settingsui: school connected", "school", q.admin.School, "portal", conn.PortalID)
	h.done(q, "connected", "")
}

// serveSave is POST /settings: every setting of the page, saved together.
func (h *Handler) serveSave(q *request) {
	ctx := q.r.Context()
	saved, err := h.eng.Settings(ctx, q.admin.School)
	if err != nil {
		h.fail(q, err)
		return
	}
	s, probs := parseSettings(q.r.PostForm, saved)
	if len(probs) == 0 {
		_, err = h.eng.SaveSettings(ctx, q.admin.School, s)
		switch {
		case err == nil:
			h.log.Info("settingsui: settings saved", "school", q.admin.School, "rows", len(s.Mappings))
			h.done(q, "saved", "mapping")
			return
		case errors.Is(err, hubsync.ErrInvalidSettings):
			for _, line := range strings.Split(err.Error(), "\n") {
				probs = append(probs, formProblem{Field: "settings", Message: "Settings not saved: " + line})
			}
		case errors.Is(err, hubsync.ErrNotConnected), errors.Is(err, hubsync.ErrConnectionLost):
			probs = append(probs, formProblem{Field: "connect", Message: "Settings not saved: connect to HubSpot first; the mapping is checked against your portal's properties."})
		default:
			probs = append(probs, formProblem{Field: "settings", Message: "Settings not saved: " + err.Error()})
		}
	}
	// Shown again as submitted, with the problems beside the controls.
	p, err := h.build(ctx, q.admin)
	if err != nil {
		h.fail(q, err)
		return
	}
	catalog, _ := h.eng.Catalog(ctx, q.admin.School)
	var props []hubsync.Property
	if p.State == "connected" {
		props, _ = h.eng.Properties(ctx, q.admin.School)
	}
	p.fill(s, catalog, props, nil)
	p.addProblems(probs)
	h.renderPage(q.w, http.StatusBadRequest, p)
}

// serveSync is POST /sync: start a manual sync in the chosen direction.
func (h *Handler) serveSync(q *request) {
	ctx := q.r.Context()
	st, err := h.eng.Status(ctx, q.admin.School)
	if err != nil {
		h.fail(q, err)
		return
	}
	dir := hubsync.Direction(q.r.PostForm.Get("direction"))
	allowed := false
	for _, c := range directionChoices(st.Mode.OrDefault()) {
		allowed = allowed || c.Value == dir
	}
	if !allowed {
		h.problem(q, http.StatusBadRequest, formProblem{Field: "sync-direction", Message: "Manual sync: choose a direction your sync mode allows (" + modeLabels[st.Mode.OrDefault()].label + ")."})
		return
	}
	_, err = h.eng.StartManualSync(ctx, q.admin.School, dir)
	switch {
	case err == nil:
		h.log.Info("settingsui: manual sync started", "school", q.admin.School, "direction", dir)
		h.done(q, "sync", "manual-sync")
	case errors.Is(err, hubsync.ErrSyncRunning):
		h.problem(q, http.StatusConflict, formProblem{Field: "manual-sync", Message: "Manual sync: a sync is already in progress for this school."})
	case errors.Is(err, hubsync.ErrNotConnected), errors.Is(err, hubsync.ErrConnectionLost):
		h.problem(q, http.StatusConflict, formProblem{Field: "connect", Message: "Manual sync: connect to HubSpot first."})
	default:
		h.fail(q, err)
	}
}

// serveCancel is POST /sync/cancel.
func (h *Handler) serveCancel(q *request) {
	if err := h.eng.CancelManualSync(q.r.Context(), q.admin.School); err != nil {
		h.fail(q, err)
		return
	}
	h.log.Info("settingsui: manual sync cancelled", "school", q.admin.School)
	h.done(q, "cancelled", "manual-sync")
}

// serveDisconnect is POST /disconnect; the seed's flow is Disconnect, then Save to confirm.
func (h *Handler) serveDisconnect(q *request) {
	if q.r.PostForm.Get("confirm") != "yes" {
		h.problem(q, http.StatusBadRequest, formProblem{Field: "disconnect", Message: "Disconnect: not confirmed. Click Disconnect, then Save to confirm."})
		return
	}
	if err := h.eng.Disconnect(q.r.Context(), q.admin.School); err != nil {
		h.fail(q, err)
		return
	}
	h.log.Info("settingsui: school disconnected", "school", q.admin.School)
	h.done(q, "disconnected", "")
}

// done redirects to the page after a form did its work, with its message (POST, redirect, GET).
func (h *Handler) done(q *request, flash, anchor string) {
	u := h.base + "/?done=" + flash
	if anchor != "" {
		u += "#" + anchor
	}
	http.Redirect(q.w, q.r, u, http.StatusSeeOther)
}

// problem shows the page with a form's problem at the top.
func (h *Handler) problem(q *request, status int, probs ...formProblem) {
	p, err := h.build(q.r.Context(), q.admin)
	if err != nil {
		h.fail(q, err)
		return
	}
	p.addProblems(probs)
	h.renderPage(q.w, status, p)
}

func (p *page) addProblems(probs []formProblem) {
	p.Problems = append(p.Problems, probs...)
	for _, pr := range probs {
		if _, ok := p.FieldErrors[pr.Field]; !ok && pr.Field != "" {
			p.FieldErrors[pr.Field] = pr.Message
		}
	}
}

// fail answers a failure of the engine or its store.
func (h *Handler) fail(q *request, err error) {
	h.log.Error("settingsui: request failed", "school", q.admin.School, "path", q.r.URL.Path, "err", err)
	h.refuse(q.w, q.r, http.StatusInternalServerError, "The HubSpot settings could not be read or saved: "+err.Error())
}
