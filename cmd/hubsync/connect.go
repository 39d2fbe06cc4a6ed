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
func runConnect(ctx context.Context, a *app, args []string) error {
	fs := a.flags("[--refresh-token TOKEN | --listen ADDR --redirect-url URL]")
	var refresh, listen, redirect string
	a.str(fs, &refresh, "refresh-token", "HUBSYNC_HUBSPOT_REFRESH_TOKEN", "", "import this HubSpot refresh token instead of the browser flow (headless setups)")
	a.str(fs, &listen, "listen", "HUBSYNC_CONNECT_LISTEN", "127.0.0.1:8976", "address of the local OAuth callback server")
	a.str(fs, &redirect, "redirect-url", "HUBSYNC_HUBSPOT_REDIRECT_URL", "", "the redirect URL registered in the HubSpot app; its path is served on --listen (default http://<listen address>/oauth/callback)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up waiting for the browser after this long")
	if err := a.parse(fs, args, quiet); err != nil {
		return err
	}
	school := hubsync.SchoolID(a.cfg.school)
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
		printConnected(a, conn)
		return nil
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

	type result struct {
		conn hubsync.Connection
		err  error
	}
	done := make(chan result, 1)
	mux := http.NewServeMux()
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if msg := q.Get("error"); msg != "" {
			http.Error(w, "HubSpot did not authorize the app: "+msg, http.StatusBadRequest)
			sendOnce(done, result{err: fmt.Errorf("HubSpot did not authorize the app (%s): run \"hubsync connect\" again and click Connect app", msg)})
			return
		}
		state := q.Get("state")
		got, err := e.eng.StateSchool(state)
		if err != nil || got != school {
			// Someone else's callback, or a stale tab: refuse, keep waiting for the right one.
			http.Error(w, "This callback does not belong to this connect attempt (invalid or expired state).", http.StatusBadRequest)
			return
		}
		conn, err := e.eng.CompleteConnect(r.Context(), school, q.Get("code"), state)
		if err != nil {
			http.Error(w, "Connecting failed: "+explain(err), http.StatusBadGateway)
			sendOnce(done, result{err: err})
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>hubsync</title><p>School %s is connected to HubSpot portal %d. You can close this tab.</p>",
			html.EscapeString(string(school)), conn.PortalID)
		sendOnce(done, result{conn: conn})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	fmt.Fprintf(a.stdout, "Open this URL in a browser, pick the HubSpot portal and click Connect app:\n\n  %s\n\n", authURL)
	fmt.Fprintf(a.stdout, "Waiting for HubSpot to call back on %s (the app's redirect URL must be exactly this) ...\n", redirect)
	wait, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	select {
	case r := <-done:
		if r.err != nil {
			return r.err
		}
		printConnected(a, r.conn)
		return nil
	case <-wait.Done():
		if errors.Is(wait.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("no callback from HubSpot within %v: run \"hubsync connect\" again, and check that the app's redirect URL is %s", *timeout, redirect)
		}
		return &exitError{code: exitInterrupted, msg: "interrupted before HubSpot called back; nothing was stored"}
	}
}

func sendOnce[T any](ch chan T, v T) {
	select {
	case ch <- v:
	default:
	}
}

func printConnected(a *app, c hubsync.Connection) {
	dom := c.Domain
	if dom == "" {
		dom = "domain unknown"
	}
	fmt.Fprintf(a.stdout, "Connected school %q to HubSpot portal %d (%s).\n", c.School, c.PortalID, dom)
	fmt.Fprintln(a.stdout, "Next: \"hubsync settings apply -f settings.json\", then \"hubsync sync\".")
}
