package apispec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	valerrors "github.com/pb33f/libopenapi-validator/errors"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// ErrUndescribed matches (with errors.Is) a *MismatchError for an operation that no loaded document
// describes and no [Specs.Allow] rule covers.
var ErrUndescribed = errors.New("apispec: no document describes this operation")

// MismatchError is returned by [Specs.Check] when an exchange does not conform. Path is the matched
// path template when a document describes the operation, otherwise the request path with e-mail
// addresses and long opaque segments (tokens) masked.
type MismatchError struct {
	Method      string
	Path        string
	Undescribed bool             // no document describes the operation (errors.Is ErrUndescribed)
	Documents   []DocumentResult // one per document that describes the operation, all rejecting it
	Searched    []string         // when Undescribed: the documents searched
}

// DocumentResult is what one document said about an exchange it describes.
type DocumentResult struct {
	Document string   // path of the document relative to the loaded directory
	Version  string   // its openapi version
	Template string   // the path template that matched
	Problems []string // readable validation messages, each starting with "request" or "response"
}

// Error names method, path, every document consulted and its validation messages.
func (e *MismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "apispec: %s %s: ", e.Method, e.Path)
	if e.Undescribed {
		fmt.Fprintf(&b, "no document describes this operation (searched %s); add it to the documents' directory or name it with Allow", strings.Join(e.Searched, ", "))
		return b.String()
	}
	if len(e.Documents) == 1 {
		b.WriteString("rejected by its document:")
	} else {
		fmt.Fprintf(&b, "rejected by all %d documents that describe it:", len(e.Documents))
	}
	for _, d := range e.Documents {
		fmt.Fprintf(&b, "\n  %s (OpenAPI %s, %s):", d.Document, d.Version, d.Template)
		for _, p := range d.Problems {
			b.WriteString("\n    - ")
			b.WriteString(strings.ReplaceAll(p, "\n", "\n      "))
		}
	}
	return b.String()
}

// Is reports whether target is ErrUndescribed and the operation was undescribed.
func (e *MismatchError) Is(target error) bool { return target == ErrUndescribed && e.Undescribed }

// Check validates one exchange: the request's path, query and header parameters and body, and, when
// resp is not nil, the response body against the response the operation declares for its status.
// It returns nil when at least one document describing the operation accepts the exchange, or when
// none describes it and an [Specs.Allow] rule covers it; otherwise a *MismatchError. Bodies are read
// and put back: req.Body through req.GetBody when set, resp.Body is replaced by an in-memory copy.
// A body that cannot be read is returned as a plain error. A nil *Specs accepts everything.
func (s *Specs) Check(req *http.Request, resp *http.Response) error {
	if s == nil {
		return nil
	}
	if req == nil || req.URL == nil {
		return errors.New("apispec: Check: nil request or request URL")
	}
	reqBody, err := requestBody(req)
	if err != nil {
		return err
	}
	var respBody []byte
	if resp != nil {
		if respBody, err = responseBody(resp); err != nil {
			return err
		}
	}
	matches := s.describe(req)
	if len(matches) == 0 {
		if s.allows(req.Method, req.URL.Path) {
			return nil
		}
		return &MismatchError{Method: req.Method, Path: maskPath(req.URL.EscapedPath()), Undescribed: true, Searched: s.Documents()}
	}
	mismatch := &MismatchError{Method: req.Method, Path: matches[0].route.Path}
	for _, m := range matches {
		problems := m.validate(req, reqBody, resp, respBody)
		if len(problems) == 0 {
			return nil
		}
		for i := range problems {
			problems[i] = scrub(problems[i], m.route.Path, req.URL.EscapedPath(), req.URL.Path, m.path)
			problems[i] = maskSecrets(problems[i], secretValues(req, reqBody))
		}
		mismatch.Documents = append(mismatch.Documents, DocumentResult{
			Document: m.doc.name, Version: m.doc.version, Template: m.route.Path, Problems: problems,
		})
	}
	return mismatch
}

// validate runs the document's validator over the exchange and returns readable problems.
func (m match) validate(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) []string {
	m.doc.mu.Lock()
	defer m.doc.mu.Unlock()
	var problems []string
	if ok, errs := m.doc.validator.ValidateHttpRequestSync(m.request(req, reqBody)); !ok {
		problems = append(problems, describeErrors("request", errs)...)
		if len(errs) == 0 {
			problems = append(problems, "request: rejected without a message")
		}
	}
	if resp == nil {
		return problems
	}
	declared, list := declaresStatus(m.route.Operation, resp.StatusCode)
	switch {
	case !declared && resp.StatusCode < 400:
		problems = append(problems, fmt.Sprintf("response: status %d is not declared by the operation (declared: %s)", resp.StatusCode, list))
	case declared:
		r := *resp
		r.Body = io.NopCloser(bytes.NewReader(respBody))
		r.Request = nil
		if ok, errs := m.doc.validator.ValidateHttpResponse(m.request(req, reqBody), &r); !ok {
			problems = append(problems, describeErrors("response", errs)...)
			if len(errs) == 0 {
				problems = append(problems, "response: rejected without a message")
			}
		}
	}
	return problems
}

// request returns a copy of req at the matched (prefix-free) path with a fresh body.
func (m match) request(req *http.Request, body []byte) *http.Request {
	r := withPath(req, m.path)
	if body == nil {
		r.Body = http.NoBody
		r.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		return r
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.ContentLength = int64(len(body))
	return r
}

// declaresStatus reports whether op declares a response for code (exactly, by range such as "4XX",
// or through default), and lists what it declares for messages.
func declaresStatus(op *v3.Operation, code int) (bool, string) {
	if op == nil || op.Responses == nil {
		return true, "nothing" // nothing declared at all: the library accepts any response
	}
	var list []string
	found := op.Responses.Default != nil
	if op.Responses.Codes != nil {
		for pair := op.Responses.Codes.First(); pair != nil; pair = pair.Next() {
			k := pair.Key()
			list = append(list, k)
			if k == strconv.Itoa(code) || strings.EqualFold(k, strconv.Itoa(code/100)+"XX") {
				found = true
			}
		}
	}
	if op.Responses.Default != nil {
		list = append(list, "default")
	}
	if op.Responses.Codes == nil && op.Responses.Default == nil {
		return true, "nothing"
	}
	return found, strings.Join(list, ", ")
}

// describeErrors turns the library's errors into one readable line (plus schema details) each.
func describeErrors(side string, errs []*valerrors.ValidationError) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		if e == nil {
			continue
		}
		var b strings.Builder
		b.WriteString(side)
		switch {
		case e.ParameterName != "":
			fmt.Fprintf(&b, " %s %q", e.ValidationType, e.ParameterName)
		case e.ValidationType == "requestBody" || e.ValidationType == "response":
			b.WriteString(" body")
		case e.ValidationType != "":
			b.WriteString(" ")
			b.WriteString(e.ValidationType)
		}
		b.WriteString(": ")
		b.WriteString(e.Message)
		if e.Reason != "" && e.Reason != e.Message {
			b.WriteString(": ")
			b.WriteString(e.Reason)
		}
		for _, f := range e.SchemaValidationErrors {
			if f == nil {
				continue
			}
			loc := f.FieldPath
			if loc == "" {
				loc = "/" + strings.Join(f.InstancePath, "/")
			}
			fmt.Fprintf(&b, "\n%s: %s", loc, f.Reason)
		}
		out = append(out, b.String())
	}
	return out
}

// requestBody returns the request's body, leaving it readable again; nil when there is none.
func requestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	if req.GetBody != nil {
		rc, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("apispec: re-read request body: %w", err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			return nil, fmt.Errorf("apispec: read request body: %w", err)
		}
		return b, nil
	}
	b, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("apispec: read request body: %w", err)
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return b, nil
}

// responseBody reads the response's body and replaces it with an in-memory copy.
func responseBody(resp *http.Response) ([]byte, error) {
	if resp.Body == nil || resp.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("apispec: read response body: %w", err)
	}
	return b, nil
}
