package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlitestore"
)

// hostSchema is the host LMS's own tables. hubsync's tables live in the same file, under their
// "hubsync_" prefix, so the host's learner update and hubsync's job are one SQLite transaction.
const hostSchema = `
CREATE TABLE IF NOT EXISTS learners (
	id         TEXT    NOT NULL PRIMARY KEY,
	school     TEXT    NOT NULL,
	email      TEXT    NOT NULL,
	first_name TEXT    NOT NULL DEFAULT '',
	last_name  TEXT    NOT NULL DEFAULT '',
	tags       TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	UNIQUE (school, email)
);
CREATE TABLE IF NOT EXISTS enrollments (
	learner_id TEXT    NOT NULL,
	course     TEXT    NOT NULL,
	at         INTEGER NOT NULL,
	PRIMARY KEY (learner_id, course)
);`

// host is the tiny LMS backend: an HTTP API over its own tables, with hubsync embedded in the
// same database.
type host struct {
	db    *sql.DB
	store *sqlitestore.Store
	eng   *hubsync.Engine
	now   func() time.Time
}

// learnerBody is what PUT /api/schools/{school}/learners/{id} takes and GET returns.
type learnerBody struct {
	ID        string   `json:"id"`
	Email     string   `json:"email"`
	FirstName string   `json:"first_name"`
	LastName  string   `json:"last_name"`
	Tags      []string `json:"tags,omitempty"`
}

// routes is the host's API.
func (h *host) routes(mux *http.ServeMux) {
	mux.HandleFunc("PUT /api/schools/{school}/learners/{id}", h.putLearner)
	mux.HandleFunc("GET /api/schools/{school}/learners/{id}", h.getLearner)
	mux.HandleFunc("POST /api/schools/{school}/learners/{id}/enrollments", h.enroll)
}

// putLearner creates or updates a learner. The row and the sync job commit in one transaction:
// a crash after the commit loses nothing (the job is in the file), and a failure before it
// leaves neither (an update hubsync refuses, an address that is not an email, is not stored).
func (h *host) putLearner(w http.ResponseWriter, r *http.Request) {
	school, id := hubsync.SchoolID(r.PathValue("school")), r.PathValue("id")
	var in learnerBody
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
		http.Error(w, "the body is not a learner: "+err.Error(), http.StatusBadRequest)
		return
	}
	in.ID = id
	now := h.now()
	err := h.inTx(r.Context(), func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(r.Context(), `INSERT INTO learners (id, school, email, first_name, last_name, tags, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET email = excluded.email, first_name = excluded.first_name,
				last_name = excluded.last_name, tags = excluded.tags, updated_at = excluded.updated_at`,
			id, string(school), strings.TrimSpace(in.Email), in.FirstName, in.LastName, strings.Join(in.Tags, ","), now.UnixMicro(), now.UnixMicro()); err != nil {
			return err
		}
		// The same transaction: store.WithTx(tx) is hubsync's queue inside it.
		return h.eng.LearnerChangedTx(r.Context(), h.store.WithTx(tx), school, hubsync.Learner{
			ID: id, Email: in.Email, Tags: in.Tags, Updated: now,
			Values: map[string]any{"email": in.Email, "first_name": in.FirstName, "last_name": in.LastName},
		})
	})
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *host) getLearner(w http.ResponseWriter, r *http.Request) {
	l, err := learnerByID(r.Context(), h.db, hubsync.SchoolID(r.PathValue("school")), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(learnerBody{ID: l.ID, Email: l.Email,
		FirstName: str(l.Values["first_name"]), LastName: str(l.Values["last_name"]), Tags: l.Tags})
}

// enroll records an enrolment and, in the same transaction, the timeline event and lifecycle
// stage it brings (hubsync.RecordTx).
func (h *host) enroll(w http.ResponseWriter, r *http.Request) {
	school, id := hubsync.SchoolID(r.PathValue("school")), r.PathValue("id")
	var in struct {
		Course string `json:"course"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil || strings.TrimSpace(in.Course) == "" {
		http.Error(w, `the body must be {"course": "<name>"}`, http.StatusBadRequest)
		return
	}
	now := h.now()
	err := h.inTx(r.Context(), func(tx *sql.Tx) error {
		l, err := learnerByID(r.Context(), tx, school, id)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(r.Context(), `INSERT INTO enrollments (learner_id, course, at) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`, id, in.Course, now.UnixMicro())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // already enrolled: nothing happened, nothing to record
		}
		return h.eng.RecordTx(r.Context(), h.store.WithTx(tx), school, hubsync.Activity{
			Kind: hubsync.EventEnrolled, Email: l.Email, LearnerID: id, At: now,
			SourceID: "enrollment:" + id + ":" + in.Course, Subject: in.Course, SubjectID: in.Course,
		})
	})
	if err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// inTx runs fn in one of the host's transactions: committed when fn returns nil, rolled back
// otherwise.
func (h *host) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := h.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	return tx.Commit()
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

func writeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, hubsync.ErrInvalidValue):
		http.Error(w, err.Error(), http.StatusBadRequest)
	case errors.Is(err, hubsync.ErrNotFound):
		http.Error(w, "no such learner", http.StatusNotFound)
	default:
		http.Error(w, fmt.Sprintf("internal error: %v", err), http.StatusInternalServerError)
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
