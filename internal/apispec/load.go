package apispec

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/router"
	"github.com/pb33f/libopenapi/datamodel"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// ErrNoDocuments is returned by [Load] when a directory holds no OpenAPI document.
var ErrNoDocuments = errors.New("apispec: no OpenAPI document found")

// LoadError is returned by [Load] when one document cannot be read, parsed or compiled. Path is the
// document's path relative to the loaded directory.
type LoadError struct {
	Path string
	Err  error
}

// Error names the document and says what went wrong.
func (e *LoadError) Error() string { return fmt.Sprintf("apispec: load %s: %v", e.Path, e.Err) }

// Unwrap returns the underlying parse or build error.
func (e *LoadError) Unwrap() error { return e.Err }

// Specs is a set of OpenAPI documents that together describe one service. Configure it
// ([Specs.Allow], [Specs.StripPrefix]) before use; after that its methods are safe for concurrent use.
// [FromEnv] hands every caller its own *Specs over shared compiled documents, so configuring one does
// not affect another test.
type Specs struct {
	dir      string
	docs     []*document
	prefixes []string // server base paths and added prefixes, longest first; never contains ""
	allowed  []allowRule
}

// document is one compiled OpenAPI document.
type document struct {
	name      string // path relative to the loaded directory, slash-separated
	version   string // the document's openapi field
	validator validator.Validator
	schemas   *lazyCache // the validator's compiled schemas, filled on first use
	router    router.Router
	mu        sync.Mutex // the validator's request path is not documented as concurrency-safe
}

// Load parses and compiles every OpenAPI document (.json, .yaml, .yml; OpenAPI 3.0 and 3.1) under dir,
// recursively, ignoring every other file. A file with one of those extensions that is not an OpenAPI
// 3.x document, or that cannot be built (for example a broken $ref), fails the whole load with a
// *LoadError naming it. A directory without documents returns ErrNoDocuments. Errors reading the
// directory are returned wrapped.
func Load(dir string) (*Specs, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".json", ".yaml", ".yml":
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("apispec: read %s: %w", filepath.Base(dir), err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w in %s", ErrNoDocuments, filepath.Base(dir))
	}
	sort.Strings(files)
	type result struct {
		doc   *document
		bases []string
		err   error
	}
	results := make([]result, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	for i, path := range files {
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			rel = filepath.Base(path)
		}
		rel = filepath.ToSlash(rel)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			doc, bases, err := loadDocument(path, rel)
			if err != nil {
				err = &LoadError{Path: rel, Err: err}
			}
			results[i] = result{doc, bases, err}
		})
	}
	wg.Wait()
	s := &Specs{dir: dir}
	for _, r := range results { // in file order, so the first failing document is named
		if r.err != nil {
			return nil, r.err
		}
		s.docs = append(s.docs, r.doc)
		for _, b := range r.bases {
			s.addPrefix(b)
		}
	}
	return s, nil
}

// loadDocument parses one file and compiles it with its servers removed (see the package doc). It
// returns the base paths of the servers it removed.
func loadDocument(path, name string) (*document, []string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	cfg := datamodel.NewDocumentConfiguration()
	// The library logs reference problems itself; they come back as errors from BuildV3Model.
	cfg.Logger = slog.New(slog.DiscardHandler)
	parsed, err := libopenapi.NewDocumentWithConfiguration(raw, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("parse: %w", err)
	}
	version := parsed.GetVersion()
	if !strings.HasPrefix(version, "3.") {
		return nil, nil, fmt.Errorf("not an OpenAPI 3.x document (openapi/swagger version %q)", version)
	}
	built, err := parsed.BuildV3Model()
	if err != nil {
		return nil, nil, fmt.Errorf("build model: %w", err)
	}
	if built == nil || built.Model.Paths == nil || built.Model.Paths.PathItems == nil {
		return nil, nil, errors.New("document has no paths")
	}
	model := &built.Model
	bases := stripServers(model)
	schemas := newLazyCache()
	v := validator.NewValidatorFromV3Model(model,
		config.WithSchemaCache(schemas),
		config.WithoutSecurityValidation(),
		config.WithoutResponseStatusValidation(), // decided in check.go, per status class
		config.WithURLEncodedBodyValidation(),    // OAuth token endpoints take form bodies
	)
	schemas.building.Store(false)
	rt := router.NewRouter(model, router.WithPathOnlyMatching())
	return &document{name: name, version: version, validator: v, schemas: schemas, router: rt}, bases, nil
}

// stripServers removes every servers list from the model (document, path items, operations) and
// returns the distinct base paths they declared, without a trailing slash. Server variables in a
// base path are not supported: such a base path is skipped (none of the vendor documents has one).
func stripServers(m *v3.Document) []string {
	var bases []string
	add := func(servers []*v3.Server) {
		for _, srv := range servers {
			if srv == nil {
				continue
			}
			if b := basePath(srv.URL); b != "" && !slices.Contains(bases, b) {
				bases = append(bases, b)
			}
		}
	}
	add(m.Servers)
	m.Servers = nil
	for pair := m.Paths.PathItems.First(); pair != nil; pair = pair.Next() {
		item := pair.Value()
		if item == nil {
			continue
		}
		add(item.Servers)
		item.Servers = nil
		for op := item.GetOperations().First(); op != nil; op = op.Next() {
			if o := op.Value(); o != nil {
				add(o.Servers)
				o.Servers = nil
			}
		}
	}
	return bases
}

// basePath returns the path part of a server URL ("https://{school}/admin/api/" -> "/admin/api"),
// or "" when it has none or it holds a server variable.
func basePath(serverURL string) string {
	rest := serverURL
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return ""
		}
		rest = rest[j:]
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	rest = strings.TrimRight(rest, "/")
	if rest == "" || strings.ContainsAny(rest, "{}") {
		return ""
	}
	if !strings.HasPrefix(rest, "/") {
		rest = "/" + rest
	}
	return rest
}

// addPrefix records a strippable prefix, keeping the list longest first.
func (s *Specs) addPrefix(p string) {
	if p == "" || slices.Contains(s.prefixes, p) {
		return
	}
	s.prefixes = append(s.prefixes, p)
	sort.SliceStable(s.prefixes, func(i, j int) bool { return len(s.prefixes[i]) > len(s.prefixes[j]) })
}

// Documents returns the relative paths of the loaded documents, sorted. A nil *Specs has none.
func (s *Specs) Documents() []string {
	if s == nil {
		return nil
	}
	names := make([]string, len(s.docs))
	for i, d := range s.docs {
		names[i] = d.name
	}
	return names
}

// Prefixes returns the path prefixes stripped before matching (server base paths and those added
// with [Specs.StripPrefix]), longest first. The empty prefix (the path as sent) is always tried too
// and is not listed.
func (s *Specs) Prefixes() []string {
	if s == nil {
		return nil
	}
	return slices.Clone(s.prefixes)
}
