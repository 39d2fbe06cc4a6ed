package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/hubsync/hubsync"
)

// runConnect connects the school: with --refresh-token it imports the token; otherwise it prints
// the authorize URL, serves the OAuth callback on --listen and exchanges the code it receives.
// When a --learnworlds-* connection flag is given, the LearnWorlds connection is checked first
// (one real call) and stored with the school once HubSpot is connected; --learnworlds-only
// checks and stores it alone.
func runConnect(ctx context.Context, a *app, args []string) error {
	fs := a.flags("[--refresh-token TOKEN | --listen ADDR --redirect-url URL] [--learnworlds-only]")
	lwOnly := fs.Bool("learnworlds-only", false, "only check the --learnworlds-* connection and store it with the school (no HubSpot step)")
	var refresh, listen, redirect string
	a.str(fs, &refresh, "refresh-token", "HUBSYNC_HUBSPOT_REFRESH_TOKEN", "", "import this HubSpot refresh token instead of the browser flow (headless setups)")
	a.str(fs, &listen, "listen", "HUBSYNC_CONNECT_LISTEN", "127.0.0.1:8976", "address of the local OAuth callback server")
	a.str(fs, &redirect, "redirect-url", "HUBSYNC_HUBSPOT_REDIRECT_URL", "", "the redirect URL registered in the HubSpot app; its path is served on --listen (default http://<listen address>/oauth/callback)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up waiting for the browser after this long")
	asJSON := fs.Bool("json", false, "print the connection as JSON on stdout ({\"school\", \"portal_id\", \"domain\"}); the URL to open and other messages go to stderr")
	if err := a.parse(fs, args, quiet); err != nil {
		return err
	}
	msgs := a.stdout
	if *asJSON {
		msgs = a.stderr
	}
	school := hubsync.SchoolID(a.cfg.school)
	withLMS := a.cfg.lwFlagsGiven()
	if withLMS || *lwOnly {
		if err := checkWebhookScheme(a.cfg.lwHookScheme); err != nil {
			return err
		}
		if err := a.checkLMS(ctx, a.cfg.flagLMS(school)); err != nil {
			return err
		}
	}
	if *lwOnly {
		st, closeStore, err := a.openStore(ctx)
		if err != nil {
			return err
		}
		defer closeStore()
		lc := a.cfg.flagLMS(school)
		if err := storeLMS(ctx, st, lc); err != nil {
			return err
		}
		return printLMSConnected(a, lc, *asJSON)
	}
	// connected stores the LearnWorlds connection once HubSpot is connected, and reports both.
	connected := func(e *env, conn hubsync.Connection) error {
		if withLMS {
			if err := storeLMS(ctx, e.store, a.cfg.flagLMS(school)); err != nil {
				return err
			}
		}
		return printConnected(a, conn, withLMS, *asJSON)
	}
	if refresh != "" {
		e, err := a.open(ctx, engineOptions{})
		if err != nil {
			return err
		}
		defer e.close()
		conn, err := e.eng.ConnectWithRefreshToken(ctx, school, refresh)
		if err != nil {
			return err
		}
		return connected(e, conn)
	}

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen for the OAuth callback on %s: %w (pick another --listen address)", listen, err)
	}
	defer ln.Close()
	if redirect == "" {
		redirect = "http://" + ln.Addr().String() + "/oauth/callback"
	}
	ru, err := url.Parse(redirect)
	if err != nil || ru.Scheme == "" || ru.Host == "" {
		return &usageError{msg: fmt.Sprintf("--redirect-url %q: want an absolute URL such as http://localhost:8976/oauth/callback", redirect)}
	}
	path := ru.Path
	if path == "" {
		path = "/"
	}
	e, err := a.open(ctx, engineOptions{redirectURL: redirect})
	if err != nil {
		return err
	}
	defer e.close()
	authURL, err := e.eng.AuthorizeURL(school)
	if err != nil {
		return err
	}

	done := make(chan connectResult, 1)
	mux := http.NewServeMux()
	mux.Handle(path, oauthCallback(e.eng, school, done))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	fmt.Fprintf(msgs, "Open this URL in a browser, pick the HubSpot portal and click Connect app:\n\n  %s\n\n", authURL)
	fmt.Fprintf(msgs, "Waiting for HubSpot to call back on %s (the app's redirect URL must be exactly this) ...\n", redirect)
	wait, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	select {
	case r := <-done:
		if r.err != nil {
			return r.err
		}
		return connected(e, r.conn)
	case <-wait.Done():
		if errors.Is(wait.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("no callback from HubSpot within %v: run \"hubsync connect\" again, and check that the app's redirect URL is %s", *timeout, redirect)
		}
		return &exitError{code: exitInterrupted, msg: "interrupted before HubSpot called back; nothing was stored"}
	}
}

// connectResult is how the OAuth callback ends the command.
type connectResult struct {
	conn hubsync.Connection
	err  error
}

// connectEngine is what the OAuth callback needs of the engine.
type connectEngine interface {
	StateSchool(state string) (hubsync.SchoolID, error)
	CompleteConnect(ctx context.Context, school hubsync.SchoolID, code, state string) (hubsync.Connection, error)
}

// maxOAuthError is how much of HubSpot's (or anyone's) ?error= text the command shows.
const maxOAuthError = 200

// oauthCallback is the handler of the OAuth redirect. It checks state before anything else: a
// callback whose state this connect attempt did not issue (another page's, a stale tab's, a
// forged one, with or without ?error=) gets 400 and the command keeps waiting. Only a callback
// with a valid state may end the command: with ?error= (the admin declined; its text, from
// outside, is shown through termSafe and cut short) or with the connection made from its code.
// The state is used up by CompleteConnect, so a replayed callback is refused too.
func oauthCallback(eng connectEngine, school hubsync.SchoolID, done chan<- connectResult) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		state := q.Get("state")
		if got, err := eng.StateSchool(state); err != nil || got != school {
			// Someone else's callback, or a stale tab: refuse, keep waiting for the right one.
			http.Error(w, "This callback does not belong to this connect attempt (invalid or expired state).", http.StatusBadRequest)
			return
		}
		if code := q.Get("error"); code != "" {
			msg := termSafeShort(code, maxOAuthError)
			if d := q.Get("error_description"); d != "" {
				msg += ": " + termSafeShort(d, maxOAuthError)
			}
			http.Error(w, "HubSpot did not authorize the app: "+msg, http.StatusBadRequest)
			sendOnce(done, connectResult{err: fmt.Errorf("HubSpot did not authorize the app (%s): run \"hubsync connect\" again and click Connect app", msg)})
			return
		}
		conn, err := eng.CompleteConnect(r.Context(), school, q.Get("code"), state)
		if errors.Is(err, hubsync.ErrBadState) {
			// Used already (a replay, or a second tab raced the first): not this attempt's end.
			http.Error(w, "This callback was already used; check the terminal.", http.StatusBadRequest)
			return
		}
		if err != nil {
			http.Error(w, "Connecting failed: "+explain(err), http.StatusBadGateway)
			sendOnce(done, connectResult{err: err})
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>hubsync</title><p>School %s is connected to HubSpot portal %d. You can close this tab.</p>",
			html.EscapeString(string(school)), conn.PortalID)
		sendOnce(done, connectResult{conn: conn})
	})
}

func sendOnce[T any](ch chan<- T, v T) {
	select {
	case ch <- v:
	default:
	}
}

// printConnected reports the connection made: two lines for people (three with the LearnWorlds
// connection stored), or one JSON document.
func printConnected(a *app, c hubsync.Connection, lms, asJSON bool) error {
	if asJSON {
		doc := map[string]any{"school": c.School, "connected": true, "portal_id": c.PortalID, "domain": c.Domain}
		if lms {
			doc["learnworlds_url"] = a.cfg.lwURL
		}
		return writeJSONTo(a.stdout, doc)
	}
	dom := c.Domain
	if dom == "" {
		dom = "domain unknown"
	}
	fmt.Fprintf(a.stdout, "Connected school %q to HubSpot portal %d (%s).\n", c.School, c.PortalID, termSafe(dom))
	if lms {
		fmt.Fprintf(a.stdout, "Stored its LearnWorlds connection (%s) with it: serve, sync and the other commands use it when no --learnworlds-* flag is given.\n", termSafe(a.cfg.lwURL))
	}
	fmt.Fprintln(a.stdout, "Next: \"hubsync settings apply -f settings.json\", then \"hubsync sync\".")
	return nil
}

// printLMSConnected reports the LearnWorlds connection stored by --learnworlds-only.
func printLMSConnected(a *app, c hubsync.LMSConnection, asJSON bool) error {
	if asJSON {
		return writeJSONTo(a.stdout, map[string]any{"school": c.School, "learnworlds_url": c.BaseURL, "webhooks": c.WebhookSecret != ""})
	}
	fmt.Fprintf(a.stdout, "Checked and stored the LearnWorlds connection of school %q (%s).\n", c.School, termSafe(c.BaseURL))
	if c.WebhookSecret == "" {
		fmt.Fprintln(a.stdout, "No --learnworlds-webhook-secret: serve does not accept this school's LearnWorlds webhooks until one is stored.")
	}
	return nil
}
