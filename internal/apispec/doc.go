// Package apispec checks HTTP traffic against official OpenAPI documents. It is a test helper: the
// HubSpot and LearnWorlds client tests wrap their http.Client transport with it so that every request
// the client sends, and every response the in-process fake answers, is validated against the vendor's
// published OpenAPI 3.0 or 3.1 documents.
//
// Documents are never copied into this repository. Tests name the directory that holds them with an
// environment variable and skip spec validation, saying why, when it is unset:
//
//	specs := apispec.FromEnv(t, "HUBSYNC_HUBSPOT_SPECS") // nil, logged, when unset
//	client := &http.Client{Transport: specs.Transport(t, nil)}
//
// # Matching
//
// The request's scheme and host are ignored (tests talk to 127.0.0.1:port); an exchange is matched on
// method and path only. A request path matches a document path template when it equals the template
// after one of these prefixes is removed from it:
//
//   - nothing (the path as sent);
//   - the base path of any `servers` URL declared by any document loaded together (documents in one
//     directory describe one service, so "https://{school}/admin/api/" in one LearnWorlds document
//     makes "/admin/api" strippable for the other as well);
//   - every prefix added with [Specs.StripPrefix].
//
// Server base paths are handled here, explicitly, not by the validation library: each document's
// servers are removed before it is compiled, so the library matches bare path templates only.
//
// # Several documents
//
// When more than one document describes an operation (the two LearnWorlds documents overlap), the
// exchange is valid when at least one of them accepts both its request and its response; when none
// does, the error lists the complaints of each. An operation no document describes is an error, unless
// it was named with [Specs.Allow] (token endpoints missing from the documents, a fake's admin routes).
//
// # What is validated
//
// Path parameters, query parameters, header parameters (the primary LearnWorlds document declares
// Authorization and Lw-Client as required headers), cookies and the request body of the matched
// operation, including application/x-www-form-urlencoded bodies such as OAuth token requests;
// the response body against the response declared for the returned status code (or its range, or
// default). A 2xx/3xx status the operation does not declare is an error; a 4xx/5xx status it does not
// declare is accepted without a body check, because vendor documents rarely list every error status
// and the fakes' fault hooks (429, 5xx) must not be reported. Security requirements (securitySchemes)
// are not checked: authentication is the clients' own tests' business.
//
// Schemas are compiled on first use and cached (see lazyCache), so loading is quick: about 0.15 s
// per vendor directory, under a second with the race detector. Messages never hold a full e-mail
// address, and long path segments, query and form values and Authorization credentials they would
// quote are masked.
package apispec
