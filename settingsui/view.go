package settingsui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hubsync/hubsync"
)

// page is everything the settings page template shows.
type page struct {
	Base   string
	CSRF   string
	PollMS int64
	Flash  string
	// Problems are the form's errors (a failed save, connect, sync or disconnect), listed at the
	// top with links to the fields they name.
	Problems []formProblem
	// FieldErrors holds the same messages by the id of the control they name, shown beside it.
	FieldErrors map[string]string

	Status hubsync.SchoolStatus
	// State is "connected", "lost" or "disconnected".
	State string

	Settings     hubsync.Settings
	Modes        []modeOption
	Rows         []rowView
	FieldGroups  []fieldGroup
	PropGroups   []propGroup
	Warning      string
	SchemaError  string
	Events       []eventOption
	Tags         string
	NotifyMasked string

	Sync syncView
	// Health is the sync health section (health.go), nil when the school was never connected.
	Health *healthView
}

type formProblem struct {
	Field   string // id of the control, "" when the problem is the form's as a whole
	Message string
}

type modeOption struct {
	Value   hubsync.SyncMode
	Label   string
	Help    string
	Checked bool
}

type fieldGroup struct {
	Label  string
	Fields []fieldOption
}

type fieldOption struct {
	Key, Label string
	Type       hubsync.FieldType
}

type propGroup struct {
	Label string
	Props []propOption
}

type propOption struct {
	Name, Label, Type string
	Note              string // "read-only", "does not sync"...
}

// rowView is one mapping row as shown: its values, its verdict and what is left of its ends.
type rowView struct {
	N         int // 1-based
	LMS       string
	HubSpot   string
	Direction hubsync.Direction
	// Checked: the row has a verdict from the mapping report; Valid and Problems are it.
	Checked  bool
	Valid    bool
	Problems []problemView
	// LMSType and HubSpotType are the two ends' types ("" when unknown).
	LMSType, HubSpotType string
	// MissingLMS and MissingHubSpot are set when the chosen end is not in its schema any more:
	// it is offered as a choice of its own so the row shows what it was.
	MissingLMS, MissingHubSpot bool
}

type problemView struct{ Label, Message string }

type eventOption struct {
	Kind  hubsync.EventKind
	Label string
	Once  bool
	On    bool
}

// syncView is the manual sync section.
type syncView struct {
	Base      string
	CSRF      string
	PollMS    int64
	Connected bool
	Mode      hubsync.SyncMode
	// Choices are the directions a manual sync may take under the mode, the mode's own first.
	Choices []dirChoice
	Running bool
	// Progress is the latest run, nil when none ever ran.
	Progress *progressView
}

type dirChoice struct {
	Value hubsync.Direction
	Label string
}

// progressView is a manual sync run, formatted.
type progressView struct {
	P         hubsync.ManualProgress
	State     string
	Direction string
	Phase     string
	Total     string
	Rate      string
	ETA       string
	Started   string
	Finished  string
	Duration  string
}

// build gathers what the page shows for the admin's school. A failure to read the HubSpot schema
// is shown on the page (SchemaError), not returned; a store failure is returned.
func (h *Handler) build(ctx context.Context, a Admin) (*page, error) {
	p := &page{Base: h.base, CSRF: h.token(a), PollMS: h.poll.Milliseconds(), FieldErrors: map[string]string{}}
	st, err := h.eng.Status(ctx, a.School)
	if err != nil {
		return nil, err
	}
	s, err := h.eng.Settings(ctx, a.School)
	if err != nil {
		return nil, err
	}
	var rep *hubsync.MappingReport
	var props []hubsync.Property
	if st.Connected {
		props, err = h.eng.Properties(ctx, a.School)
		if err == nil {
			var r hubsync.MappingReport
			if r, err = h.eng.MappingReport(ctx, a.School); err == nil {
				rep = &r
			}
		}
		if errors.Is(err, hubsync.ErrConnectionLost) {
			// HubSpot refused the refresh just now: the school is deactivated; show it so.
			if st, err = h.eng.Status(ctx, a.School); err != nil {
				return nil, err
			}
		} else if err != nil {
			p.SchemaError = "HubSpot's contact properties could not be read: " + err.Error()
		}
	}
	p.Status = st
	switch {
	case st.Connected:
		p.State = "connected"
	case st.Deactivated:
		p.State = "lost"
	default:
		p.State = "disconnected"
	}
	catalog, err := h.eng.Catalog(ctx, a.School)
	if err != nil {
		p.SchemaError = cmp.Or(p.SchemaError, err.Error())
	}
	p.fill(s, catalog, props, rep)
	p.Sync = h.syncSection(a, st)
	if p.State != "disconnected" {
		if p.Health, err = h.healthSection(ctx, a.School); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// fill sets the settings part of the page from s, the two schemas and the mapping report.
func (p *page) fill(s hubsync.Settings, catalog []hubsync.LearnerField, props []hubsync.Property, rep *hubsync.MappingReport) {
	p.Settings = s
	p.Modes, p.FieldGroups, p.PropGroups, p.Rows, p.Events, p.Warning = nil, nil, nil, nil, nil, ""
	mode := s.Mode.OrDefault()
	for _, m := range hubsync.SyncModes() {
		l := modeLabels[m]
		p.Modes = append(p.Modes, modeOption{Value: m, Label: l.label, Help: l.help, Checked: m == mode})
	}
	fields := hubsync.IndexFields(catalog)
	for _, c := range hubsync.FieldCategories() {
		g := fieldGroup{Label: categoryLabels[c].label}
		for _, f := range catalog {
			if f.Category == c {
				g.Fields = append(g.Fields, fieldOption{Key: f.Key, Label: f.Label, Type: f.Type})
			}
		}
		if len(g.Fields) == 0 {
			if categoryLabels[c].empty == "" {
				continue
			}
			g.Label = categoryLabels[c].empty
		}
		p.FieldGroups = append(p.FieldGroups, g)
	}
	byName := map[string]hubsync.Property{}
	own, builtin := propGroup{Label: "Your properties"}, propGroup{Label: "HubSpot properties"}
	sorted := slices.Clone(props)
	slices.SortFunc(sorted, func(a, b hubsync.Property) int {
		return cmp.Compare(strings.ToLower(cmp.Or(a.Label, a.Name)), strings.ToLower(cmp.Or(b.Label, b.Name)))
	})
	for _, x := range sorted {
		byName[x.Name] = x
		o := propOption{Name: x.Name, Label: cmp.Or(x.Label, x.Name), Type: x.Type}
		if _, ok := x.SyncType(); !ok {
			o.Note = "does not sync"
		} else if !x.Writable() {
			o.Note = "read-only"
		}
		if x.HubSpotDefined {
			builtin.Props = append(builtin.Props, o)
		} else {
			own.Props = append(own.Props, o)
		}
	}
	for _, g := range []propGroup{own, builtin} {
		if len(g.Props) > 0 {
			p.PropGroups = append(p.PropGroups, g)
		}
	}
	for i, m := range s.Mappings {
		r := rowView{N: i + 1, LMS: m.LMSField, HubSpot: m.HubSpotProperty, Direction: m.Direction}
		if f, ok := fields[m.LMSField]; ok {
			r.LMSType = string(f.Type)
		} else if m.LMSField != "" && catalog != nil {
			r.MissingLMS = true
		}
		if x, ok := byName[m.HubSpotProperty]; ok {
			r.HubSpotType = x.Type
		} else if m.HubSpotProperty != "" && props != nil {
			r.MissingHubSpot = true
		}
		if rep != nil && i < len(rep.Rows) {
			rr := rep.Rows[i]
			r.Checked, r.Valid = true, rr.Valid
			for _, pr := range rr.Problems {
				r.Problems = append(r.Problems, problemView{Label: cmp.Or(problemLabels[pr.Code], string(pr.Code)), Message: pr.Message})
			}
		}
		p.Rows = append(p.Rows, r)
	}
	if rep != nil {
		p.Warning = rep.Warning
	}
	for _, k := range hubsync.EventKinds() {
		p.Events = append(p.Events, eventOption{Kind: k, Label: cmp.Or(eventLabels[k], string(k)), Once: k.Once(), On: s.EventEnabled(k)})
	}
	p.Tags = strings.Join(s.Inbound.Tags, ", ")
	p.NotifyMasked = ""
	if s.NotifyEmail != "" {
		p.NotifyMasked = hubsync.MaskEmail(s.NotifyEmail)
	}
}

// syncSection is the manual sync section for the school's status.
func (h *Handler) syncSection(a Admin, st hubsync.SchoolStatus) syncView {
	v := syncView{Base: h.base, CSRF: h.token(a), PollMS: h.poll.Milliseconds(), Connected: st.Connected, Mode: st.Mode.OrDefault(), Running: st.SyncInProgress}
	v.Choices = directionChoices(v.Mode)
	if st.ManualSync != nil {
		v.Progress = formatProgress(*st.ManualSync)
	}
	return v
}

// directionChoices are the directions a manual sync may take under mode: the mode's own, and in
// two-way mode each one way alone too.
func directionChoices(mode hubsync.SyncMode) []dirChoice {
	switch mode {
	case hubsync.ModeToLMS:
		return []dirChoice{{hubsync.DirectionToLMS, "HubSpot to LearnWorlds"}}
	case hubsync.ModeTwoWay:
		return []dirChoice{{hubsync.DirectionBoth, "Both ways"}, {hubsync.DirectionToHubSpot, "LearnWorlds to HubSpot only"}, {hubsync.DirectionToLMS, "HubSpot to LearnWorlds only"}}
	default:
		return []dirChoice{{hubsync.DirectionToHubSpot, "LearnWorlds to HubSpot"}}
	}
}

func formatProgress(p hubsync.ManualProgress) *progressView {
	v := &progressView{P: p, State: cmp.Or(stateLabels[p.State], string(p.State)),
		Direction: cmp.Or(directionLabels[p.Direction], string(p.Direction)),
		Phase:     cmp.Or(phaseLabels[p.Phase], p.Phase), Total: "unknown", Rate: "-", ETA: "unknown",
		Started: stamp(p.StartedAt), Finished: stamp(p.FinishedAt)}
	if p.Direction == hubsync.DirectionBoth {
		v.Direction = "both ways"
	}
	if p.Total >= 0 {
		v.Total = fmt.Sprint(p.Total)
	}
	if p.Rate > 0 {
		v.Rate = fmt.Sprintf("%.1f records/s", p.Rate)
	}
	switch {
	case p.ETA >= time.Second:
		v.ETA = "about " + p.ETA.Round(time.Second).String()
	case p.ETA > 0:
		v.ETA = "under a second"
	}
	if !p.FinishedAt.IsZero() {
		v.Duration = p.FinishedAt.Sub(p.StartedAt).Round(time.Second).String()
	}
	return v
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
