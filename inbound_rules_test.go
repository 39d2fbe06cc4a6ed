package hubsync

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBlankKept(t *testing.T) {
	t.Parallel()
	synced := map[string]string{"country": "GR"}
	for _, tc := range []struct {
		name    string
		sent    map[string]string
		hs, lms string
		want    bool
		why     string
	}{
		{"a value, not a blank", nil, "FR", "GR", false, "only blanks are held back"},
		{"both empty", nil, "", "", false, "nothing to overwrite"},
		{"blank, never synced", nil, "", "GR", true, "a blank never overwrites a value"},
		{"blank, synced empty", map[string]string{"country": ""}, "", "GR", true, "the engine synced no value HubSpot could have cleared"},
		{"blank, another property synced", map[string]string{"city": "GR"}, "", "GR", true, "the record is per property"},
		{"explicit clear of the synced value", synced, "", "GR", false, "HubSpot held GR through hubsync and the learner still holds it"},
		{"blank after the LMS changed", synced, "", "ES", true, "the learner no longer holds what hubsync synced"},
	} {
		if got := blankKept(tc.sent, "country", tc.hs, tc.lms); got != tc.want {
			t.Errorf("%s: blankKept = %v, want %v (%s)", tc.name, got, tc.want, tc.why)
		}
	}
}

func TestGroupInbound(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	job := func(payload string) Job { return Job{JobSpec: JobSpec{Kind: JobInbound, Payload: []byte(payload)}} }
	at := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339Nano) }
	jobs := []Job{
		job(`{"contact_id":"1","occurred_at":"` + at(0) + `","properties":["country"]}`),
		job(`{"contact_id":"2","occurred_at":"` + at(time.Second) + `","properties":["phone"]}`),
		job(`{"contact_id":"1","occurred_at":"` + at(2*time.Second) + `","properties":["company"]}`),
		job(`{"contact_id":"1","occurred_at":"` + at(time.Second) + `","properties":["country"]}`),
		job(`{"contact_id":"3","occurred_at":"` + at(0) + `","properties":["country"]}`),
		job(`{"contact_id":"3","occurred_at":"` + at(0) + `"}`), // creation, merge, restore, or queued by an older version
		job(`{"contact_id":""}`),
		job(`not json`),
	}
	order, changes, bad := groupInbound(jobs)
	if d := cmp.Diff([]string{"1", "2", "3"}, order); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
	if bad != 2 {
		t.Errorf("bad = %d, want 2", bad)
	}
	want := map[string]*inboundChange{
		"1": {at: t0.Add(2 * time.Second), props: map[string]bool{"country": true, "company": true}},
		"2": {at: t0.Add(time.Second), props: map[string]bool{"phone": true}},
		"3": {at: t0, all: true, props: map[string]bool{"country": true}},
	}
	if d := cmp.Diff(want, changes, cmp.AllowUnexported(inboundChange{})); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
}

func TestChangedRows(t *testing.T) {
	t.Parallel()
	row := func(field, prop string) RowReport {
		return RowReport{Mapping: Mapping{LMSField: field, HubSpotProperty: prop}, Type: TypeString, Valid: true}
	}
	rows := []RowReport{row("email", "email"), row("country", "country"), row("company", "company")}
	for _, tc := range []struct {
		name    string
		changed map[string]bool
		want    []string
	}{
		{"one mapped property", map[string]bool{"country": true}, []string{"country"}},
		{"two, in the rows' order", map[string]bool{"company": true, "country": true}, []string{"country", "company"}},
		{"unmapped or outbound only", map[string]bool{"phone": true, "firstname": true}, nil},
		{"nothing", nil, nil},
	} {
		var got []string
		for _, r := range changedRows(rows, tc.changed) {
			got = append(got, r.Mapping.HubSpotProperty)
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
}

func TestInboundKey(t *testing.T) {
	t.Parallel()
	if a, b := inboundKey("7", "country"), inboundKey("7", "company"); a == b {
		t.Errorf("two properties of one contact share the key %q: coalescing would lose one", a)
	}
	if got := inboundKey("7", ""); got != "inbound|7|*" {
		t.Errorf("every-row key = %q", got)
	}
	if got := inboundKey("7", "country"); got != "inbound|7|country" {
		t.Errorf("property key = %q", got)
	}
}
