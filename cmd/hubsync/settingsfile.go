package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/hubsync/hubsync"
)

// fileError is a malformed settings file: where (1-based line and column, 0 when unknown), which
// field, and what is wrong.
type fileError struct {
	Line, Col int
	Field     string
	Msg       string
}

func (e *fileError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d, column %d: ", e.Line, e.Col)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "field %q: ", e.Field)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// position turns a byte offset into a 1-based line and column (columns count bytes).
func position(data []byte, off int64) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

var unknownField = regexp.MustCompile(`^json: unknown field "(.*)"$`)

// decodeSettings decodes a settings file strictly (unknown fields are errors) and checks it with
// Settings.Validate. A syntax or type error is a *fileError naming the line, column and field; a
// setting Validate refuses is a *fileError naming the setting (and its line when it can be found).
func decodeSettings(data []byte) (hubsync.Settings, error) {
	var s hubsync.Settings
	if len(bytes.TrimSpace(data)) == 0 {
		return s, &fileError{Msg: "the file is empty; it must hold one JSON object (see settings.example.json)"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(&s)
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
	case errors.As(err, &syn):
		l, c := position(data, syn.Offset-1)
		return s, &fileError{Line: l, Col: c, Msg: "JSON syntax error: " + strings.TrimPrefix(syn.Error(), "json: ")}
	case errors.As(err, &typ):
		// Offset is the end of the value: point at the field's key before it instead.
		l, c := position(data, typ.Offset-1)
		if name := lastName(typ.Field); name != "" {
			if kl, kc := findKeyBefore(data, name, typ.Offset); kl > 0 {
				l, c = kl, kc
			}
		}
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		return s, &fileError{Line: l, Col: c, Field: field, Msg: fmt.Sprintf("a JSON %s cannot be a %s", typ.Value, goType(typ.Type.String()))}
	case errors.Is(err, io.ErrUnexpectedEOF):
		l, c := position(data, int64(len(data)))
		return s, &fileError{Line: l, Col: c, Msg: "the file ends in the middle of the JSON object"}
	case unknownField.MatchString(err.Error()):
		name := unknownField.FindStringSubmatch(err.Error())[1]
		fe := &fileError{Field: name, Msg: "unknown field (a typo? see settings.example.json for the names)"}
		fe.Line, fe.Col = findKey(data, name)
		return s, fe
	default:
		l, c := position(data, dec.InputOffset())
		return s, &fileError{Line: l, Col: c, Msg: strings.TrimPrefix(err.Error(), "json: ")}
	}
	if off := dec.InputOffset(); dec.More() {
		for off < int64(len(data)) && strings.ContainsRune(" \t\r\n", rune(data[off])) {
			off++
		}
		l, c := position(data, off)
		return s, &fileError{Line: l, Col: c, Msg: "extra data after the settings object"}
	}
	if err := s.Validate(); err != nil {
		var out []string
		for _, line := range strings.Split(err.Error(), "\n") {
			out = append(out, strings.TrimPrefix(line, hubsync.ErrInvalidSettings.Error()+": "))
		}
		fe := &fileError{}
		if f := firstSettingName(out[0]); f != "" {
			fe.Field = f
			fe.Line, fe.Col = findKey(data, strings.Split(strings.Split(f, "[")[0], ".")[0])
			out[0] = strings.TrimPrefix(out[0], f+": ") // named once, as the field
		}
		fe.Msg = strings.Join(out, "; ")
		return s, fe
	}
	return s, nil
}

var settingName = regexp.MustCompile(`^([a-z_]+(\[\d+\])?(\.[a-z_]+)?)`)

// firstSettingName picks the setting a Validate message starts with ("mappings[2].direction").
func firstSettingName(msg string) string {
	m := settingName.FindString(msg)
	if m == "" || !strings.ContainsAny(msg, ":") {
		return ""
	}
	return m
}

// findKey returns the line and column of the first `"name":` in data, or 0, 0.
func findKey(data []byte, name string) (int, int) {
	re, err := regexp.Compile(`"` + regexp.QuoteMeta(name) + `"\s*:`)
	if err != nil {
		return 0, 0
	}
	loc := re.FindIndex(data)
	if loc == nil {
		return 0, 0
	}
	return position(data, int64(loc[0]))
}

// lastName is the last element of a dotted field path ("inbound.tags" -> "tags").
func lastName(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// findKeyBefore returns the line and column of the last `"name":` that starts before off, or
// 0, 0.
func findKeyBefore(data []byte, name string, off int64) (int, int) {
	re, err := regexp.Compile(`"` + regexp.QuoteMeta(name) + `"\s*:`)
	if err != nil {
		return 0, 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	locs := re.FindAllIndex(data[:off], -1)
	if len(locs) == 0 {
		return 0, 0
	}
	return position(data, int64(locs[len(locs)-1][0]))
}

// goType names a Go type of the settings file in JSON words.
func goType(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "list"
	case t == "bool":
		return "boolean (true or false)"
	case t == "string" || strings.HasPrefix(t, "hubsync."):
		if strings.HasSuffix(t, "Settings") || t == "hubsync.Mapping" || t == "hubsync.CustomField" || t == "hubsync.FieldRules" {
			return "JSON object"
		}
		return "string"
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "float"):
		return "number"
	case strings.HasPrefix(t, "map"):
		return "JSON object"
	}
	return t
}
