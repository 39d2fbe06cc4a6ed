package hubspottest

import (
	"fmt"
	"net/http"
	"time"
)

// batchSizeOK refuses, as HubSpot does, a batch with no inputs or more than 100, and reports
// whether the batch may go on.
func batchSizeOK(w http.ResponseWriter, n int) bool {
	if n == 0 || n > 100 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("Batch input limit exceeded: %d inputs, the limit is 100.", n), nil)
		return false
	}
	return true
}

// writeBatch answers a batch endpoint the way HubSpot does: status ok with the results, or 207
// Multi-Status with the results and the errors when there are errors.
func writeBatch(w http.ResponseWriter, ok int, now time.Time, results, errs []map[string]any) {
	if results == nil {
		results = []map[string]any{}
	}
	ans := map[string]any{"status": "COMPLETE", "results": results, "startedAt": hubTime(now), "completedAt": hubTime(now)}
	if len(errs) > 0 {
		ans["errors"], ans["numErrors"] = errs, len(errs)
		writeJSON(w, http.StatusMultiStatus, ans)
		return
	}
	writeJSON(w, ok, ans)
}

// standardErrors turns per-input errors into a 207 answer's errors.
func standardErrors(bad []inputError) []map[string]any {
	out := make([]map[string]any, 0, len(bad))
	for _, b := range bad {
		out = append(out, b.standard())
	}
	return out
}

// notFoundErrors is the 207 error HubSpot gives for record ids that do not exist.
func notFoundErrors(missing []string, message string) []map[string]any {
	if len(missing) == 0 {
		return nil
	}
	return []map[string]any{{
		"status": "error", "category": "OBJECT_NOT_FOUND", "message": message,
		"context": map[string][]string{"ids": missing}, "errors": []errorDetail{}, "links": map[string]string{},
	}}
}
