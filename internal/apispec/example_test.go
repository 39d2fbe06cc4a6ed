package apispec_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/hubsync/hubsync/internal/apispec"
)

// A minimal OpenAPI 3.1 document whose server has the base path /admin/api.
const exampleDoc = `openapi: 3.1.0
info: {title: example, version: "1"}
servers: [{url: "https://{school}/admin/api"}]
paths:
  /v2/users/{id}/tags:
    put:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [tags, action]
              properties:
                tags: {type: array, items: {type: string}}
                action: {enum: [attach, detach]}
      responses:
        "200": {description: ok}
`

// Example shows Check on hand-built exchanges. In a client test, wrap the client's transport
// instead: &http.Client{Transport: specs.Transport(t, nil)}, with specs from apispec.FromEnv.
func Example() {
	dir, _ := os.MkdirTemp("", "apispec-example")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "school.yaml"), []byte(exampleDoc), 0o644)

	specs, err := apispec.Load(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	specs.Allow("POST", "/admin/api/oauth2/access_token", "the token endpoint is in no document")

	check := func(method, path, body string) {
		req := httptest.NewRequest(method, "http://127.0.0.1:8080"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp := &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody}
		if err := specs.Check(req, resp); err != nil {
			fmt.Println(strings.Split(err.Error(), "\n")[0])
			return
		}
		fmt.Println(method, path, "ok")
	}
	check("PUT", "/admin/api/v2/users/42/tags", `{"tags":["vip"],"action":"attach"}`)
	check("PUT", "/admin/api/v2/users/42/tags", `{"tags":["vip"],"action":"add"}`)
	check("POST", "/admin/api/oauth2/access_token", `grant_type=client_credentials`)
	check("DELETE", "/admin/api/v2/users/42", ``)
	// Output:
	// PUT /admin/api/v2/users/42/tags ok
	// apispec: PUT /v2/users/{id}/tags: rejected by its document:
	// POST /admin/api/oauth2/access_token ok
	// apispec: DELETE /admin/api/v2/users/42: no document describes this operation (searched school.yaml); add it to the documents' directory or name it with Allow
}
