package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/internal/logthrottle"
	"github.com/hubsync/hubsync/settingsui"
)

// settingsPath is where serve mounts the settings page.
const settingsPath = "/settings"

// settingsRedirectURL is the OAuth callback of serve's settings page: on the origin of the public
// webhook URL when one is given (serve behind a proxy), else on the listen address.
func settingsRedirectURL(public, listen string) string {
	origin := ""
	if u, err := url.Parse(public); err == nil && public != "" && u.Scheme != "" && u.Host != "" {
		origin = u.Scheme + "://" + u.Host
	} else {
		host, port, err := net.SplitHostPort(listen)
		if err != nil {
			host, port = listen, "80"
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		origin = "http://" + net.JoinHostPort(host, port)
	}
	return origin + settingsPath + settingsui.CallbackPath
}

// mountSettings mounts the settings page for school at /settings/, behind serve's --admin-token
// (the one /status requires): HTTP Basic authentication whose password is the token (any user
// name), so a browser asks for it, or an Authorization: Bearer header as /status takes it. The
// CSRF secret is derived from the token and the HubSpot client secret, so the page's forms
// outlive a restart.
func mountSettings(mux *http.ServeMux, eng *hubsync.Engine, school hubsync.SchoolID, token, clientSecret string, log *slog.Logger) error {
	secret := sha256.Sum256([]byte("hubsync-settings-csrf\x00" + token + "\x00" + clientSecret))
	ui, err := settingsui.New(settingsui.Options{
		Engine: eng, BasePath: settingsPath, Secret: secret[:], Logger: log,
		Authorize: func(*http.Request) (settingsui.Admin, error) {
			return settingsui.Admin{ID: "admin-token", School: school}, nil // adminOnly checked the token
		},
	})
	if err != nil {
		return fmt.Errorf("settings page: %w", err)
	}
	mux.Handle(settingsPath+"/", adminOnly(token, log, ui))
	return nil
}

// adminOnly lets a request through when it carries the admin token, and answers 401 with a
// Basic challenge (so a browser asks for it) otherwise; refusals are logged at most once every
// 10 s, as requireAdmin's. The comparison is of SHA-256 digests in constant time.
func adminOnly(token string, log *slog.Logger, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	refusals := logthrottle.New(nil, logthrottle.Every)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := "", false
		if _, pass, basic := r.BasicAuth(); basic {
			got, ok = pass, true
		} else if b, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); bearer {
			got, ok = b, true
		}
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			if ok, left := refusals.Allow(); ok {
				log.Warn("hubsync: /settings/ refused: missing or wrong admin token", "remote", r.RemoteAddr, "refusals_not_logged", left)
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="hubsync settings", charset="UTF-8"`)
			http.Error(w, "hubsync: the settings page needs the admin token (--admin-token) as the password", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
