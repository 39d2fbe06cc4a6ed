package settingsui

import (
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/clock"
	"github.com/hubsync/hubsync/internal/quietlog"
)

// CallbackPath is the OAuth callback the handler serves, under Options.BasePath. The engine's
// HubSpotApp.RedirectURL must point at it.
const CallbackPath = "/oauth/callback"

// Defaults for the Options fields left zero.
const (
	// TokenTTL is how long a CSRF token stays valid: a page left open longer must be reloaded.
	TokenTTL = 12 * time.Hour
	// PollIntervalDefault is how often an open page asks for a running manual sync's progress.
	PollIntervalDefault = time.Second
)

// Admin is who is asking, as the host's Authorizer tells it.
type Admin struct {
	// ID identifies the admin (a user id, a session id). It binds the CSRF tokens; it is never
	// rendered or logged.
	ID string
	// School is the school whose settings the admin manages on this request. Required.
	School hubsync.SchoolID
}

// Authorizer tells the handler who the admin making r is and which school they manage. An error
// refuses the request with a 403 (the error is logged, not shown).
type Authorizer func(r *http.Request) (Admin, error)

// LayoutData is what a host layout (Options.Layout) is executed with.
type LayoutData struct {
	// Title is the page's title.
	Title string
	// Head links the page's stylesheet and script: put it inside <head>.
	Head template.HTML
	// Content is the page itself: put it inside <body>.
	Content template.HTML
}

// Options configure a Handler.
type Options struct {
	// Engine is the engine whose schools the page configures. Required.
	Engine *hubsync.Engine
	// Authorize names the admin and the school of each request. Required.
	Authorize Authorizer
	// BasePath is where the host mounts the handler ("/admin/hubspot"); "" is the root. Every link
	// and form of the page is under it, and the handler expects request paths to keep it (do not
	// strip it with http.StripPrefix).
	BasePath string
	// Layout, when set, wraps the page in the host's own layout: it is executed with a LayoutData.
	// The default is a plain page of this package's own.
	Layout *template.Template
	// Secret keys the CSRF tokens. Every process serving the same admins needs the same secret;
	// nil means a random one, so tokens do not outlive the process (a reload fixes that).
	Secret []byte
	// PollInterval is how often an open page refreshes a running manual sync's progress
	// (PollIntervalDefault).
	PollInterval time.Duration
	// Clock is the time source for token expiry; nil means real time.
	Clock hubsync.Clock
	// Logger receives the handler's logs; nil means slog.Default() at WARN and above only.
	Logger *slog.Logger
}

// Handler is the settings page. Create it with New.
type Handler struct {
	eng    *hubsync.Engine
	auth   Authorizer
	base   string
	layout *template.Template
	tmpl   *template.Template
	secret []byte
	poll   time.Duration
	clk    hubsync.Clock
	log    *slog.Logger
	mux    *http.ServeMux
	cross  *http.CrossOriginProtection
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New checks o and returns the handler. The error names a missing option or a bad BasePath.
func New(o Options) (*Handler, error) {
	if o.Engine == nil {
		return nil, errors.New("settingsui: Options.Engine is required")
	}
	if o.Authorize == nil {
		return nil, errors.New("settingsui: Options.Authorize is required")
	}
	base := strings.TrimRight(o.BasePath, "/")
	if base != "" && (!strings.HasPrefix(base, "/") || strings.ContainsAny(base, "{}?#")) {
		return nil, fmt.Errorf("settingsui: Options.BasePath %q: want a path like /admin/hubspot", o.BasePath)
	}
	secret := o.Secret
	if len(secret) == 0 {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("settingsui: CSRF secret: %w", err)
		}
	}
	tmpl, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("settingsui: templates: %w", err)
	}
	h := &Handler{
		eng: o.Engine, auth: o.Authorize, base: base, layout: o.Layout, tmpl: tmpl,
		secret: append([]byte(nil), secret...), poll: o.PollInterval, clk: clock.Or(o.Clock),
		log: o.Logger, mux: http.NewServeMux(), cross: http.NewCrossOriginProtection(),
	}
	if h.poll <= 0 {
		h.poll = PollIntervalDefault
	}
	if h.log == nil {
		h.log = quietlog.Default()
	}
	static, _ := fs.Sub(staticFS, "static")
	h.mux.Handle("GET "+base+"/static/", http.StripPrefix(base+"/static/", assets(http.FileServerFS(static))))
	if base != "" {
		h.mux.Handle("GET "+base, http.RedirectHandler(base+"/", http.StatusMovedPermanently))
	}
	h.mux.HandleFunc("GET "+base+"/{$}", h.authorized(h.servePage))
	h.mux.HandleFunc("GET "+base+"/progress", h.authorized(h.serveProgress))
	h.mux.HandleFunc("GET "+base+CallbackPath, h.authorized(h.serveCallback))
	h.mux.HandleFunc("POST "+base+"/connect", h.authorized(h.checked(h.serveConnect)))
	h.mux.HandleFunc("POST "+base+"/settings", h.authorized(h.checked(h.serveSave)))
	h.mux.HandleFunc("POST "+base+"/sync", h.authorized(h.checked(h.serveSync)))
	h.mux.HandleFunc("POST "+base+"/sync/cancel", h.authorized(h.checked(h.serveCancel)))
	h.mux.HandleFunc("POST "+base+"/disconnect", h.authorized(h.checked(h.serveDisconnect)))
	return h, nil
}

// ServeHTTP serves the page, its forms, its progress endpoint and its assets.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}

func assets(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// request is one authorized request.
type request struct {
	w     http.ResponseWriter
	r     *http.Request
	admin Admin
}

// authorized runs the host's Authorizer before next; a refusal is a 403.
func (h *Handler) authorized(next func(*request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		admin, err := h.auth(r)
		if err == nil && admin.School == "" {
			err = errors.New("the authorizer named no school")
		}
		if err != nil {
			h.log.Warn("settingsui: request refused by the authorizer", "path", r.URL.Path, "err", err)
			h.refuse(w, r, http.StatusForbidden, "You are not allowed to manage this school's HubSpot settings.")
			return
		}
		next(&request{w: w, r: r, admin: admin})
	}
}

// checked refuses a POST without a valid CSRF token, or one a browser marks cross-origin.
func (h *Handler) checked(next func(*request)) func(*request) {
	return func(q *request) {
		if err := h.cross.Check(q.r); err != nil {
			h.log.Warn("settingsui: cross-origin request refused", "school", q.admin.School, "path", q.r.URL.Path)
			h.refuse(q.w, q.r, http.StatusForbidden, "Cross-origin request refused: submit the form from the settings page itself.")
			return
		}
		tok := q.r.Header.Get("X-CSRF-Token")
		if tok == "" {
			q.r.Body = http.MaxBytesReader(q.w, q.r.Body, maxForm)
			if err := q.r.ParseForm(); err != nil {
				h.refuse(q.w, q.r, http.StatusBadRequest, "The form could not be read: "+err.Error())
				return
			}
			tok = q.r.PostForm.Get(csrfField)
		}
		if !h.validToken(q.admin, tok) {
			h.log.Warn("settingsui: request without a valid CSRF token refused", "school", q.admin.School, "path", q.r.URL.Path)
			h.refuse(q.w, q.r, http.StatusForbidden, "The form's security token (CSRF) is missing, expired or not yours: reload the settings page and try again.")
			return
		}
		next(q)
	}
}

// maxForm bounds a form body: hundreds of mapping rows fit.
const maxForm = 1 << 20

// refuse answers with a short page (or JSON, for the progress endpoint) saying why.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if strings.HasSuffix(r.URL.Path, "/progress") {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	h.render(w, status, "HubSpot settings: "+http.StatusText(status), "refusal", refusalView{Status: status, Message: msg, Base: h.base})
}

type refusalView struct {
	Status  int
	Message string
	Base    string
}
