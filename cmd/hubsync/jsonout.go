package main

import (
	"encoding/json"
	"io"
)

// writeJSONTo writes v as one indented JSON document.
func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
