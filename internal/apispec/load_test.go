package apispec

import (
	"errors"
	"strings"
	"testing"
)

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	const brokenRef = `{"openapi":"3.0.1","info":{"title":"x","version":"1"},"paths":{"/x":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"#/components/schemas/Missing"}}}}}}}}}`
	tests := []struct {
		name    string
		files   map[string]string
		wantDoc string // document named by the *LoadError, "" when none
		wantIs  error
		want    string
	}{
		{name: "empty directory", files: map[string]string{"SOURCES.md": "x"}, wantIs: ErrNoDocuments, want: "no OpenAPI document"},
		{name: "not JSON", files: map[string]string{"a.json": docA, "sub/bad.json": `{"openapi": `}, wantDoc: "sub/bad.json"},
		{name: "swagger 2", files: map[string]string{"old.yaml": "swagger: \"2.0\"\ninfo: {title: x, version: \"1\"}\npaths: {}\n"}, wantDoc: "old.yaml", want: "not an OpenAPI 3.x document"},
		{name: "broken ref", files: map[string]string{"ref.json": brokenRef}, wantDoc: "ref.json"},
		{name: "no paths", files: map[string]string{"np.yaml": "openapi: 3.1.0\ninfo: {title: x, version: \"1\"}\n"}, wantDoc: "np.yaml", want: "no paths"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(writeTree(t, tt.files))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			t.Logf("error: %v", err)
			if !strings.HasPrefix(err.Error(), "apispec: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want prefix \"apispec: \" and %q", err, tt.want)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
			var le *LoadError
			if got := errors.As(err, &le); got != (tt.wantDoc != "") || (got && le.Path != tt.wantDoc) {
				t.Errorf("LoadError = %+v, want document %q", le, tt.wantDoc)
			}
		})
	}
}

func TestLoadMissingDirectory(t *testing.T) {
	t.Parallel()
	if _, err := Load(t.TempDir() + "/absent"); err == nil || !strings.HasPrefix(err.Error(), "apispec: ") {
		t.Errorf("Load(absent) = %v, want an apispec error", err)
	}
}
