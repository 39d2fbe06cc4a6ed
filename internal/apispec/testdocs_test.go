package apispec

import (
	"os"
	"path/filepath"
	"testing"
)

// docA is an OpenAPI 3.0 JSON document with a server base path of its own ("/api").
const docA = `{
  "openapi": "3.0.3",
  "info": {"title": "things", "version": "1"},
  "servers": [{"url": "https://api.example.com/api"}],
  "paths": {
    "/things/batch/upsert": {
      "post": {
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UpsertBatch"}}}},
        "responses": {
          "200": {"description": "ok", "content": {"application/json": {"schema": {
            "type": "object", "required": ["status", "results"],
            "properties": {"status": {"type": "string", "enum": ["COMPLETE", "PENDING"]}, "results": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}}}}}}},
          "default": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/things/{thingId}": {
      "get": {
        "parameters": [
          {"name": "thingId", "in": "path", "required": true, "schema": {"type": "integer"}},
          {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}}
        ],
        "responses": {
          "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
          "default": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/token": {
      "post": {
        "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
          "type": "object", "required": ["grant_type", "client_id"],
          "properties": {"grant_type": {"type": "string", "enum": ["authorization_code", "refresh_token"]}, "client_id": {"type": "string"}}}}}},
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
          "type": "object", "required": ["access_token", "expires_in"],
          "properties": {"access_token": {"type": "string"}, "expires_in": {"type": "integer"}}}}}}}
      }
    }
  },
  "components": {"schemas": {
    "UpsertBatch": {"type": "object", "required": ["inputs"], "properties": {"inputs": {"type": "array", "maxItems": 100, "items": {
      "type": "object", "required": ["id", "properties"],
      "properties": {"id": {"type": "string"}, "idProperty": {"type": "string"}, "properties": {"type": "object", "additionalProperties": {"type": "string"}}}}}}},
    "Thing": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}, "name": {"type": "string", "nullable": true}}},
    "Error": {"type": "object", "required": ["message", "category"], "properties": {"message": {"type": "string"}, "category": {"type": "string"}}}
  }}
}`

// docB is an OpenAPI 3.1 YAML document whose server carries the base path "/admin/api/".
const docB = `openapi: 3.1.0
info: {title: school, version: "2"}
servers:
  - url: https://{school}/admin/api/
    variables:
      school: {default: example.com}
paths:
  /v2/users/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/User"}
    put:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                tags: {type: array, items: {type: string}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/User"}
components:
  schemas:
    User:
      type: object
      required: [email]
      properties:
        email: {type: string}
        nickname: {type: [string, "null"]}
        tags: {type: array, items: {type: string}}
`

// docC is a second OpenAPI 3.1 document (.yml, in a subdirectory) describing GET /v2/users/{id}
// more strictly than docB: "extra" is required. Its server has no base path.
const docC = `openapi: 3.1.0
info: {title: school-strict, version: "2"}
servers:
  - url: https://mock.example.com
paths:
  /v2/users/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                required: [email, extra]
                properties:
                  email: {type: string}
                  nickname: {type: [string, "null"]}
                  extra: {type: boolean}
`

// writeTree writes files (relative path -> content) under a fresh temporary directory.
func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// inlineDir writes the three inline documents and some files Load must ignore.
func inlineDir(t testing.TB) string {
	return writeTree(t, map[string]string{
		"a.json":             docA,
		"b.yaml":             docB,
		"strict/c.yml":       docC,
		"SOURCES.md":         "# not a document\n",
		"docs-copies/x.md":   "# nor this\n",
		"notes.txt":          "{ not json",
		"strict/README.html": "<p>ignored</p>",
	})
}

// loadInline loads the inline documents, failing the test on error.
func loadInline(t testing.TB) *Specs {
	t.Helper()
	s, err := Load(inlineDir(t))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return s
}
