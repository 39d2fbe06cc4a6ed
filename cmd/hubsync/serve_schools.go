package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/learnworlds"
	"github.com/hubsync/hubsync/settingsui"
)

// This file is how one "serve" serves many schools: which ones (--schools, or every school of
// the store that has a LearnWorlds connection), picking up those connected or disconnected while
// it runs (--schools-interval), and the routes that differ per school: the LearnWorlds webhooks
// (/learnworlds/webhooks/{school}), /status/{school} and the settings pages (/settings/{school}/
// with an index at /settings/ and one OAuth callback for all). HubSpot webhooks need no route
// of their own: the engine routes them by portal id. The workers are shared by every school of
// the store; the queue serves the schools with work in turn (hubsync.Queue's fairness).

// schoolsIntervalDefault is how often serve looks at the store for schools connected,
// reconnected or disconnected since.
const schoolsIntervalDefault = 30 * time.Second

// servedSchool is what serve built for one school.
type servedSchool struct {
	conn    hubsync.LMSConnection  // as read (from the flags or the store)
	catalog hubsync.CatalogOptions // from the school's settings
	hooks   http.Handler           // its LearnWorlds webhooks; nil without a webhook secret
	ui      http.Handler           // its settings page, made on first use
}

// schoolSet is the schools one serve serves. Its methods are safe for concurrent use.
type schoolSet struct {
	a   *app
	e   *env
	log *slog.Logger
	// named is --schools (or the one --school of single-school mode); nil means every school
	// of the store.
	named []hubsync.SchoolID
	// flagSchool is the school the --learnworlds-* flags configure ("" when none is given).
	flagSchool hubsync.SchoolID
	// adminToken and csrf are the settings pages' (serve --admin-token).
	adminToken string
	csrf       []byte

	mu     sync.RWMutex
	served map[hubsync.SchoolID]*servedSchool
	warned map[hubsync.SchoolID]bool // told once that it has no LearnWorlds connection
}

// parseSchools parses --schools: comma-separated school ids, each once.
func parseSchools(s string) ([]hubsync.SchoolID, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []hubsync.SchoolID
	for _, p := range strings.Split(s, ",") {
		id := hubsync.SchoolID(strings.TrimSpace(p))
		if id == "" || strings.ContainsAny(string(id), "/?#{} ") {
			return nil, &usageError{msg: fmt.Sprintf("--schools %q: want school ids separated by commas, e.g. a,b", s)}
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// candidates are the schools serve looks at: --schools, or every school of the store (and the
// --school the flags configure).
func (s *schoolSet) candidates(ctx context.Context) ([]hubsync.SchoolID, error) {
	if s.named != nil {
		return s.named, nil
	}
	ids, err := s.e.store.ListSchools(ctx)
	if err != nil {
		return nil, err
	}
	if s.flagSchool != "" && !slices.Contains(ids, s.flagSchool) {
		ids = append(ids, s.flagSchool)
		slices.Sort(ids)
	}
	return ids, nil
}

// refresh reads every candidate's LearnWorlds connection and settings and brings the served
// schools in line: a school connected since is added, one whose connection or catalog changed is
// rebuilt, one disconnected (no LearnWorlds connection any more) is dropped. It returns the
// schools added and dropped. A school that fails to build is logged and left as it was.
func (s *schoolSet) refresh(ctx context.Context) (added, dropped []hubsync.SchoolID, err error) {
	ids, err := s.candidates(ctx)
	if err != nil {
		return nil, nil, err
	}
	keep := map[hubsync.SchoolID]bool{}
	for _, id := range ids {
		conn, ok, err := s.connOf(ctx, id)
		if err != nil {
			s.log.Warn("hubsync: could not read a school's LearnWorlds connection; trying again later", "school", id, "err", err)
			s.mu.RLock()
			_, had := s.served[id]
			s.mu.RUnlock()
			keep[id] = had
			continue
		}
		if !ok {
			if !s.warned[id] {
				s.warned[id] = true
				s.log.Warn("hubsync: the school has no LearnWorlds connection, so its LearnWorlds side is not served; run \"hubsync connect --learnworlds-only --school ID\" with its --learnworlds-* flags", "school", id)
			}
			continue
		}
		delete(s.warned, id)
		keep[id] = true
		set, _ := s.e.store.GetSettings(ctx, id) // none saved yet: the default catalog
		catalog := hubsync.CatalogOptions{Custom: set.Custom, BillingEnabled: set.BillingEnabled}
		s.mu.RLock()
		old := s.served[id]
		s.mu.RUnlock()
		if old != nil && old.conn == conn && reflect.DeepEqual(old.catalog, catalog) {
			continue
		}
		sv, err := s.build(id, conn, catalog)
		if err != nil {
			s.log.Warn("hubsync: the school's LearnWorlds connection does not work; fix it with \"hubsync connect --learnworlds-only\"", "school", id, "err", err)
			keep[id] = old != nil
			continue
		}
		s.mu.Lock()
		if old != nil {
			sv.ui = old.ui
		} else {
			added = append(added, id)
		}
		s.served[id] = sv
		s.mu.Unlock()
	}
	s.mu.Lock()
	for id := range s.served {
		if !keep[id] {
			delete(s.served, id)
			s.e.learners.RemoveSchool(id)
			dropped = append(dropped, id)
		}
	}
	s.mu.Unlock()
	slices.Sort(dropped)
	return added, dropped, nil
}

// connOf is the school's LearnWorlds connection: for --school the flags' when given, else the
// stored one.
func (s *schoolSet) connOf(ctx context.Context, id hubsync.SchoolID) (hubsync.LMSConnection, bool, error) {
	if id == hubsync.SchoolID(s.a.cfg.school) {
		return s.a.lmsFor(ctx, s.e.store, id) // the flags', else the stored one
	}
	c, err := s.e.store.GetLMSConnection(ctx, id)
	if errors.Is(err, hubsync.ErrNotFound) {
		return hubsync.LMSConnection{}, false, nil
	}
	return c, err == nil, err
}

// build makes the school's LearnWorlds client, sets it in the engine's Learners adapter and
// makes its webhook handler.
func (s *schoolSet) build(id hubsync.SchoolID, conn hubsync.LMSConnection, catalog hubsync.CatalogOptions) (*servedSchool, error) {
	client, err := s.a.lwClient(conn)
	if err != nil {
		return nil, err
	}
	if err := s.e.learners.SetSchool(id, learnworlds.School{Client: client, Catalog: catalog}); err != nil {
		return nil, err
	}
	sv := &servedSchool{conn: conn, catalog: catalog}
	if v, ok := lwVerifier(conn); ok {
		sv.hooks = s.e.eng.CountWebhooks("learnworlds", s.e.learners.EngineWebhooks(id, v, s.e.eng, s.e.store, s.log))
	}
	return sv, nil
}

// run refreshes the set every interval until ctx ends, logging what changed.
func (s *schoolSet) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		added, dropped, err := s.refresh(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("hubsync: could not list the store's schools; trying again later", "err", err)
		case len(added)+len(dropped) > 0:
			s.log.Info("hubsync: schools served changed", "added", added, "dropped", dropped, "served", s.ids())
		}
	}
}

// ids lists the schools served now, sorted.
func (s *schoolSet) ids() []hubsync.SchoolID {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]hubsync.SchoolID, 0, len(s.served))
	for id := range s.served {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func (s *schoolSet) get(id hubsync.SchoolID) *servedSchool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.served[id]
}

// lwWebhooks serves POST /learnworlds/webhooks/{school}: the school's own handler (which checks
// its signature), 404 for a school not served or without a webhook secret. fixed, when not empty,
// is the school of the legacy /learnworlds/webhooks.
func (s *schoolSet) lwWebhooks(fixed hubsync.SchoolID) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := fixed
		if id == "" {
			id = hubsync.SchoolID(r.PathValue("school"))
		}
		sv := s.get(id)
		if sv == nil || sv.hooks == nil {
			http.Error(w, "hubsync: no school here takes LearnWorlds webhooks (unknown school, or no webhook secret stored)", http.StatusNotFound)
			return
		}
		sv.hooks.ServeHTTP(w, r)
	})
}

// status serves GET /status (every candidate school, the JSON array of "hubsync status --json";
// a school whose status cannot be read is in it with its "error")
// and GET /status/{school} (one school, the document of "hubsync status --json --school ID").
// single makes /status the one school's document, as before many schools.
func (s *schoolSet) status(single bool) (list, one http.Handler) {
	one = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := hubsync.SchoolID(r.PathValue("school"))
		if single {
			id = s.named[0]
		}
		ids, err := s.candidates(r.Context())
		if err == nil && !slices.Contains(ids, id) {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": "no such school here"})
			return
		}
		st, err := s.a.schoolStatus(r.Context(), s.e.eng, id)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": explain(err)})
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	if single {
		return one, one
	}
	list = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ids, err := s.candidates(r.Context())
		var all []listed
		if err == nil {
			all, err = s.a.statusesOf(r.Context(), s.e.eng, ids) // a school that fails is listed with its error
		}
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": explain(err)})
			return
		}
		writeJSON(w, http.StatusOK, all)
	})
	return list, one
}

// settings serves /settings/: an index of the schools served (a redirect to the page when there
// is one), each school's page at /settings/{school}/, and the one OAuth callback every school's
// Connect returns to (/settings/oauth/callback, the redirect URL registered in the HubSpot app),
// which hands the callback to the page of the school its signed state names. All of it is behind
// the admin token (adminOnly).
func (s *schoolSet) settings() http.Handler {
	return adminOnly(s.adminToken, s.log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest := strings.TrimPrefix(r.URL.Path, settingsPath+"/")
		if rest == "" {
			s.settingsIndex(w, r)
			return
		}
		if rest == strings.TrimPrefix(settingsui.CallbackPath, "/") {
			id, err := s.e.eng.StateSchool(r.URL.Query().Get("state"))
			if err != nil || s.get(id) == nil {
				http.Error(w, "hubsync: this OAuth callback names no school served here (invalid or expired state); start again from the settings page", http.StatusBadRequest)
				return
			}
			r2 := r.Clone(r.Context())
			r2.URL.Path = settingsPath + "/" + string(id) + settingsui.CallbackPath
			r2.URL.RawPath = ""
			s.settingsUI(id).ServeHTTP(w, r2)
			return
		}
		id, _, _ := strings.Cut(rest, "/")
		if s.get(hubsync.SchoolID(id)) == nil {
			http.NotFound(w, r)
			return
		}
		s.settingsUI(hubsync.SchoolID(id)).ServeHTTP(w, r)
	}))
}

// settingsIndex lists the schools served, each linking to its page; with one school it
// redirects there.
func (s *schoolSet) settingsIndex(w http.ResponseWriter, r *http.Request) {
	ids := s.ids()
	if len(ids) == 1 {
		http.Redirect(w, r, settingsPath+"/"+string(ids[0])+"/", http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	var b strings.Builder
	b.WriteString("<!doctype html><meta charset=utf-8><title>hubsync: schools</title><h1>Schools</h1><ul>")
	for _, id := range ids {
		e := html.EscapeString(string(id))
		fmt.Fprintf(&b, `<li><a href="%s/%s/">%s</a></li>`, settingsPath, e, e)
	}
	if len(ids) == 0 {
		b.WriteString("<li>No school is served yet: connect one with \"hubsync connect\".</li>")
	}
	b.WriteString("</ul>")
	_, _ = w.Write([]byte(b.String()))
}

// settingsUI returns the school's settings page, making it on first use.
func (s *schoolSet) settingsUI(id hubsync.SchoolID) http.Handler {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv := s.served[id]
	if sv == nil {
		return http.NotFoundHandler()
	}
	if sv.ui == nil {
		ui, err := settingsui.New(settingsui.Options{
			Engine: s.e.eng, BasePath: settingsPath + "/" + string(id), Secret: s.csrf, Logger: s.log,
			Authorize: func(*http.Request) (settingsui.Admin, error) {
				return settingsui.Admin{ID: "admin-token", School: id}, nil // adminOnly checked the token
			},
		})
		if err != nil {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "hubsync: settings page: "+err.Error(), http.StatusInternalServerError)
			})
		}
		sv.ui = ui
	}
	return sv.ui
}
