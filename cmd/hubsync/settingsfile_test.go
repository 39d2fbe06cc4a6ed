package main

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/hubsync/hubsync"
)

func TestDecodeSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		in         string
		line, col  int
		field, msg string
	}{
		{name: "empty", in: "  \n", msg: "the file is empty"},
		{name: "syntax", in: "{\n  \"mode\": \"two_way\",\n  \"mappings\": [,]\n}", line: 3, col: 16, msg: "JSON syntax error: invalid character ','"},
		{name: "truncated", in: "{\n  \"mode\": \"two_way\",\n", line: 3, col: 1, msg: "ends in the middle"},
		{name: "wrong type", in: "{\"gdpr_toolkit\": \"yes\"}", line: 1, col: 2, field: "gdpr_toolkit", msg: "a JSON string cannot be a boolean"},
		{name: "nested wrong type", in: "{\"inbound\": {\n \"tags\": \"vip\"}}", line: 2, col: 2, field: "inbound.tags", msg: "a JSON string cannot be a list"},
		{name: "mapping row type", in: "{\"mappings\": [{\"lms_field\": 3}]}", line: 1, col: 16, field: "mappings.lms_field", msg: "a JSON number cannot be a string"},
		{name: "unknown field", in: "{\n  \"mode\": \"two_way\",\n  \"mapings\": []\n}", line: 3, col: 3, field: "mapings", msg: "unknown field"},
		{name: "top level array", in: "[]", line: 1, col: 1, field: "(top level)", msg: "a JSON array cannot be a"},
		{name: "extra data", in: "{}\n{}", line: 2, col: 1, msg: "extra data after the settings object"},
		{name: "bad mode", in: "{\n\"mode\": \"sideways\"}", line: 2, col: 1, field: "mode", msg: "unknown sync mode \"sideways\""},
		{name: "bad direction", in: "{\"mappings\": [{\"lms_field\": \"country\", \"hubspot_property\": \"country\", \"direction\": \"up\"}]}", line: 1, col: 2, field: "mappings[0].direction", msg: "direction"},
		{name: "bad email", in: "{\"notify_email\": \"not-an-email\"}", line: 1, col: 2, field: "notify_email", msg: "not a valid email address"},
		{name: "valid", in: `{"mode": "two_way", "mappings": [{"lms_field": "country", "hubspot_property": "country", "direction": "both"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeSettings([]byte(tt.in))
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("decodeSettings: %v", err)
				}
				return
			}
			var fe *fileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T), want a *fileError", err, err)
			}
			if fe.Line != tt.line || fe.Col != tt.col || fe.Field != tt.field || !strings.Contains(fe.Msg, tt.msg) {
				t.Fatalf("got line %d col %d field %q msg %q\nwant line %d col %d field %q msg containing %q",
					fe.Line, fe.Col, fe.Field, fe.Msg, tt.line, tt.col, tt.field, tt.msg)
			}
		})
	}
}

// TestExampleSettingsFile keeps the example file in the repository valid.
func TestExampleSettingsFile(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("settings.example.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := decodeSettings(data)
	if err != nil {
		t.Fatalf("settings.example.json: %v", err)
	}
	if s.Mode != hubsync.ModeToHubSpot || len(s.Mappings) == 0 || len(s.Custom) == 0 {
		t.Fatalf("the example lost its content: %+v", s)
	}
	fields, err := hubsync.LearnWorldsCatalog(hubsync.CatalogOptions{Custom: s.Custom})
	if err != nil {
		t.Fatal(err)
	}
	idx := hubsync.IndexFields(fields)
	for _, m := range s.Mappings {
		if _, ok := idx[m.LMSField]; !ok {
			t.Errorf("the example maps %q, which is not in the LearnWorlds catalog", m.LMSField)
		}
	}
}

func TestPosition(t *testing.T) {
	t.Parallel()
	data := []byte("ab\ncd\n\nef")
	for _, tt := range []struct {
		off       int64
		line, col int
	}{{0, 1, 1}, {1, 1, 2}, {3, 2, 1}, {4, 2, 2}, {6, 3, 1}, {7, 4, 1}, {100, 4, 3}, {-5, 1, 1}} {
		if l, c := position(data, tt.off); l != tt.line || c != tt.col {
			t.Errorf("position(%d) = %d:%d, want %d:%d", tt.off, l, c, tt.line, tt.col)
		}
	}
}

// FuzzDecodeSettings: any input decodes or fails with a *fileError; positions stay inside the
// input; nothing panics.
func FuzzDecodeSettings(f *testing.F) {
	for _, s := range []string{"{}", "", "[", `{"mode":"two_way"}`, "{\n\"x\":1}", `{"mappings":[{"lms_field":1}]}`, `{"inbound":{"tags":[""]}}`, "{}{}"} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile("settings.example.json"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := decodeSettings(data)
		if err == nil {
			return
		}
		var fe *fileError
		if !errors.As(err, &fe) {
			t.Fatalf("error %v is not a *fileError", err)
		}
		lines := strings.Count(string(data), "\n") + 1
		if fe.Line < 0 || fe.Line > lines || (fe.Line > 0 && fe.Col < 1) {
			t.Fatalf("position %d:%d outside an input of %d lines", fe.Line, fe.Col, lines)
		}
		if fe.Msg == "" {
			t.Fatal("empty message")
		}
	})
}
