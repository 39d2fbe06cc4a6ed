package hubspottest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SearchCap is the most results one search query can page through.
const SearchCap = 10000

type filter struct {
	PropertyName string   `json:"propertyName"`
	Operator     string   `json:"operator"`
	Value        string   `json:"value"`
	HighValue    string   `json:"highValue"`
	Values       []string `json:"values"`
}

type sortRule struct {
	PropertyName string `json:"propertyName"`
	Direction    string `json:"direction"`
}

// parseSorts accepts the documented object form and the spec's string form ("prop" or "-prop").
func parseSorts(raw json.RawMessage) ([]sortRule, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	var out []sortRule
	for _, it := range items {
		var r sortRule
		if err := json.Unmarshal(it, &r); err == nil {
			out = append(out, r)
			continue
		}
		var str string
		if err := json.Unmarshal(it, &str); err != nil {
			return nil, fmt.Errorf("sort %s is neither an object nor a string", it)
		}
		if name, desc := strings.CutPrefix(str, "-"); desc {
			out = append(out, sortRule{PropertyName: name, Direction: "DESCENDING"})
		} else {
			out = append(out, sortRule{PropertyName: str, Direction: "ASCENDING"})
		}
	}
	return out, nil
}

// comparable turns a property value into something ordered: epoch ms for dates, a float for
// numbers, the lower-cased text otherwise.
func (s *Server) comparable(prop, v string) (float64, string, bool) {
	p := s.props[prop]
	if p != nil && (p.Type == "datetime" || p.Type == "date") {
		if ms, ok := s.timeCache[v]; ok {
			return ms, "", true
		}
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			return float64(ms), "", true
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
			if t, err := time.Parse(layout, v); err == nil {
				if len(s.timeCache) > 1<<20 {
					s.timeCache = map[string]float64{}
				}
				s.timeCache[v] = float64(t.UnixMilli())
				return float64(t.UnixMilli()), "", true
			}
		}
	}
	if p != nil && p.Type == "number" {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f, "", true
		}
	}
	return 0, strings.ToLower(v), false
}

func (s *Server) compare(prop, a, b string) int {
	fa, sa, na := s.comparable(prop, a)
	fb, sb, nb := s.comparable(prop, b)
	if na && nb {
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	return strings.Compare(sa, sb)
}

func (s *Server) matches(c *contact, f filter) bool {
	v, has := c.props[f.PropertyName]
	has = has && v != ""
	switch f.Operator {
	case "HAS_PROPERTY":
		return has
	case "NOT_HAS_PROPERTY":
		return !has
	case "EQ":
		return has && s.compare(f.PropertyName, v, f.Value) == 0
	case "NEQ":
		return !has || s.compare(f.PropertyName, v, f.Value) != 0
	case "LT":
		return has && s.compare(f.PropertyName, v, f.Value) < 0
	case "LTE":
		return has && s.compare(f.PropertyName, v, f.Value) <= 0
	case "GT":
		return has && s.compare(f.PropertyName, v, f.Value) > 0
	case "GTE":
		return has && s.compare(f.PropertyName, v, f.Value) >= 0
	case "BETWEEN":
		return has && s.compare(f.PropertyName, v, f.Value) >= 0 && s.compare(f.PropertyName, v, f.HighValue) <= 0
	case "IN", "NOT_IN":
		in := false
		for _, x := range f.Values {
			in = in || (has && s.compare(f.PropertyName, v, x) == 0)
		}
		return in == (f.Operator == "IN")
	case "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN":
		tok := strings.ToLower(strings.Trim(f.Value, "*"))
		return (has && strings.Contains(strings.ToLower(v), tok)) == (f.Operator == "CONTAINS_TOKEN")
	}
	return false
}

// handleSearch serves the CRM search endpoint with HubSpot's limits: 5 groups x 6 filters (18 in
// all), 200 per page, and no paging past 10,000 results.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	var body struct {
		FilterGroups []struct {
			Filters []filter `json:"filters"`
		} `json:"filterGroups"`
		Sorts      json.RawMessage `json:"sorts"`
		Properties []string        `json:"properties"`
		Limit      int             `json:"limit"`
		After      json.RawMessage `json:"after"`
		Query      string          `json:"query"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	sorts, err := parseSorts(body.Sorts)
	if err != nil {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Invalid sorts: "+err.Error(), nil)
		return
	}
	total := 0
	for _, g := range body.FilterGroups {
		total += len(g.Filters)
		if len(g.Filters) > 6 {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "A filter group may hold at most 6 filters", nil)
			return
		}
	}
	if len(body.FilterGroups) > 5 || total > 18 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "At most 5 filter groups and 18 filters in all", nil)
		return
	}
	limit := body.Limit
	if limit == 0 {
		limit = 10
	}
	if limit < 0 || limit > 200 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("limit must be between 1 and 200, got %d", limit), nil)
		return
	}
	after := 0
	if a := strings.Trim(string(body.After), `"`); a != "" && a != "null" {
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("after must be a non-negative offset, got %s", body.After), nil)
			return
		}
		after = n
	}
	if after >= s.cfg.searchCap {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", fmt.Sprintf("Paging beyond %d results is not supported; narrow the query", s.cfg.searchCap), nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var hits []*contact
	for _, id := range s.sortedIDsLocked() {
		c := s.contacts[id]
		if c.archived {
			continue
		}
		ok := len(body.FilterGroups) == 0
		for _, g := range body.FilterGroups {
			all := true
			for _, f := range g.Filters {
				all = all && s.matches(c, f)
			}
			ok = ok || all
		}
		if ok && body.Query != "" {
			ok = strings.Contains(strings.ToLower(c.props["email"]+" "+c.props["firstname"]+" "+c.props["lastname"]), strings.ToLower(body.Query))
		}
		if ok {
			hits = append(hits, c)
		}
	}
	if len(sorts) > 0 {
		// Compute each sort key once: parsing dates inside the comparison is too slow for the
		// tens of thousands of contacts benchmarks hold.
		rule := sorts[0]
		type keyed struct {
			c   *contact
			num float64
			str string
			ok  bool
		}
		ks := make([]keyed, len(hits))
		for i, c := range hits {
			n, str, ok := s.comparable(rule.PropertyName, c.props[rule.PropertyName])
			ks[i] = keyed{c, n, str, ok}
		}
		sort.SliceStable(ks, func(i, j int) bool {
			a, b := ks[i], ks[j]
			var cmp int
			if a.ok && b.ok {
				switch {
				case a.num < b.num:
					cmp = -1
				case a.num > b.num:
					cmp = 1
				}
			} else {
				cmp = strings.Compare(a.str, b.str)
			}
			if rule.Direction == "DESCENDING" {
				return cmp > 0
			}
			return cmp < 0
		})
		for i := range ks {
			hits[i] = ks[i].c
		}
	}
	results := []map[string]any{}
	props := body.Properties
	if len(props) == 0 {
		props = defaultListProps
	}
	end := min(after+limit, len(hits))
	for i := after; i < end; i++ {
		results = append(results, s.wireLocked(hits[i], props))
	}
	ans := map[string]any{"total": len(hits), "results": results}
	if end < len(hits) {
		ans["paging"] = map[string]any{"next": map[string]any{"after": strconv.Itoa(end), "link": ""}}
	}
	writeJSON(w, http.StatusOK, ans)
}
