package learnworlds

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hasFoldedKeyByTokens is hasFoldedKey as it was first written, over encoding/json's tokenizer:
// the reference the one-pass scanner must agree with.
func hasFoldedKeyByTokens(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		key, _ := t.(string)
		if !userKeys[key] {
			for k := range userKeys {
				if strings.EqualFold(key, k) {
					return true
				}
			}
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return false
}

var foldedKeyCases = []string{
	`{}`, `null`, `[]`, `"x"`, `{"email":"a@b.co"}`,
	`{"EMAIL":"a@b.co"}`, `{"Created":1}`, `{"x":{"EMAIL":1},"y":[{"Created":2}]}`,
	`{"a":"}{\"EMAIL\":","b":1}`, `{"\u0045MAIL":1}`, `{"em\u0061il":1}`,
	"{\"\u212aey\":1}", "{\"tag\u017f\":1}", "{\"ID\":null}", "{\"tagS\" : [ ] , \"x\" : true }",
	"{\"aa\xff\":{},\"utms\":{\"\":\"\"},\"CreAted\":1}", `{"fields":{"a":[1,2,{"b":"]"}]},"Role":{}}`,
	`{"subscribed_for_marketing_emailS":true}`, `{"n":-1.5e3,"Tags":[]}`,
}

func TestHasFoldedKeyAgreesWithTokenizer(t *testing.T) {
	for _, c := range foldedKeyCases {
		b := []byte(c)
		if !json.Valid(b) {
			continue
		}
		if got, want := hasFoldedKey(b), hasFoldedKeyByTokens(b); got != want {
			t.Errorf("hasFoldedKey(%s) = %v, the tokenizer says %v", c, got, want)
		}
	}
	if !hasFoldedKey([]byte(`{"a":1,"EMAIL":"x"}`)) {
		t.Error(`a key "EMAIL" is not reported`)
	}
	if !hasFoldedKey([]byte("{\"tag\u017f\":[]}")) { // a long s folds to s
		t.Error(`a key "tag\u017f" is not reported`)
	}
}

// FuzzHasFoldedKey checks the one-pass key scanner against the tokenizer on valid JSON.
func FuzzHasFoldedKey(f *testing.F) {
	for _, c := range foldedKeyCases {
		f.Add([]byte(c))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "webhooks", "*.json"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		if got, want := hasFoldedKey(b), hasFoldedKeyByTokens(b); got != want {
			t.Fatalf("hasFoldedKey(%q) = %v, the tokenizer says %v", b, got, want)
		}
	})
}
