package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/hubspot"
	"github.com/hubsync/hubsync/learnworlds"
)

// explain turns an error into one line a person can act on. The line never holds a token or a
// secret (the hubspot and learnworlds errors mask emails and carry no tokens; URLs are reduced to
// their host), and no control character: what HubSpot or LearnWorlds wrote goes through termSafe.
func explain(err error) string { return termSafe(explainText(err)) }

// explainText is explain before termSafe.
func explainText(err error) string {
	var (
		rl  *hubspot.RateLimitError
		hae *hubspot.APIError
		lae *learnworlds.APIError
		pe  *fs.PathError
		dbe *storeError
	)
	switch {
	case errors.Is(err, errNoLearnWorlds):
		return errNoLearnWorlds.Error()
	case errors.Is(err, hubsync.ErrNotConnected):
		return "the school is not connected to HubSpot: run \"hubsync connect\" first"
	case errors.Is(err, hubspot.ErrConnectionRevoked), errors.Is(err, hubsync.ErrConnectionLost):
		return "HubSpot refused the refresh token (the app was uninstalled or the token revoked): run \"hubsync connect\" again, then \"hubsync sync\" to catch up"
	case errors.Is(err, hubsync.ErrUnseal):
		return fmt.Sprintf("%v: give the key the token was sealed with (--token-key, or an old one in --token-keys-old or the key file)", err)
	case errors.Is(err, hubsync.ErrBadState):
		return "the OAuth callback's state is invalid or expired: run \"hubsync connect\" again and approve within 30 minutes"
	case errors.Is(err, hubsync.ErrSyncRunning):
		return "a manual sync is already running for this school (another hubsync process?): wait for it, or run \"hubsync sync --restart\""
	case errors.As(err, &rl):
		return fmt.Sprintf("HubSpot rate limit reached (%s): wait %v and run the command again; if it repeats, lower --hubspot-rate-limit or check other apps using the portal", policyOf(rl), rl.RetryAfter.Round(time.Second))
	case errors.As(err, &hae) && (hae.StatusCode == 401 || isBadClient(hae)):
		return fmt.Sprintf("HubSpot refused the credentials (HTTP %d %s): check --hubspot-client-id and --hubspot-client-secret, or reconnect with \"hubsync connect\"", hae.StatusCode, hae.Category)
	case errors.As(err, &hae) && hae.StatusCode == 403:
		return fmt.Sprintf("HubSpot denied access (HTTP 403 %s): reconnect with \"hubsync connect\" and approve every scope the app asks for", hae.Category)
	case errors.As(err, &hae) && hae.StatusCode == 429:
		return "HubSpot rate limit reached: wait a minute and run the command again; if it repeats, lower --hubspot-rate-limit"
	case errors.Is(err, learnworlds.ErrUnauthorized):
		return "LearnWorlds refused the credentials: check --learnworlds-client-id and --learnworlds-client-secret (or --learnworlds-token) under Settings > Developers > API"
	case errors.Is(err, learnworlds.ErrRateLimited):
		return "LearnWorlds rate limit reached: wait a minute and run the command again; if it repeats, lower --learnworlds-rate-limit"
	case errors.Is(err, learnworlds.ErrConfig):
		return fmt.Sprintf("LearnWorlds configuration: %v", err)
	case errors.As(err, &lae) && lae.StatusCode == 404:
		return fmt.Sprintf("LearnWorlds answered 404 for %s: check --learnworlds-url (the school's address)", lae.Path)
	case errors.As(err, &lae):
		return fmt.Sprintf("LearnWorlds failed (%v): check --learnworlds-url and try again later", err)
	case errors.As(err, &pe) && errors.As(err, &dbe):
		return fmt.Sprintf("cannot %s the store %s: %v: check --db", pe.Op, filepath.Base(pe.Path), pe.Err)
	case errors.As(err, &pe):
		// Before the network cases: the syscall.Errno inside satisfies net.Error.
		return fmt.Sprintf("cannot %s %s: %v", pe.Op, filepath.Base(pe.Path), pe.Err)
	case isNetErr(err):
		return unreachable(err)
	case errors.As(err, &dbe) && strings.Contains(err.Error(), "unable to open database file"):
		return fmt.Sprintf("cannot open the SQLite file %s (its directory is missing or not writable): check --db", filepath.Base(dbe.db))
	case errors.As(err, &hae):
		return fmt.Sprintf("HubSpot failed (%v): try again later; quote the correlation id to HubSpot support if it persists", err)
	case errors.Is(err, hubsync.ErrInvalidSettings):
		msg := strings.ReplaceAll(err.Error(), hubsync.ErrInvalidSettings.Error()+": ", "")
		return "invalid settings: " + strings.ReplaceAll(msg, "\n", "; ")
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out: " + err.Error()
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

func policyOf(rl *hubspot.RateLimitError) string {
	if rl.Policy != "" {
		return rl.Policy
	}
	return fmt.Sprintf("HTTP %d", rl.StatusCode)
}

// isBadClient reports an OAuth answer refusing the app's client id or secret.
func isBadClient(e *hubspot.APIError) bool {
	s := strings.ToUpper(e.Category + " " + e.SubCategory + " " + e.Message)
	return strings.Contains(s, "BAD_CLIENT") || strings.Contains(s, "INVALID_CLIENT")
}

// isNetErr reports a network failure: a dial or DNS error, or another net.Error (a client
// timeout) that is not a bare system call error (syscall.Errno has Timeout and Temporary, so
// every file-system error would pass for a network one).
func isNetErr(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	var ne net.Error
	var errno syscall.Errno
	return errors.As(err, &op) || errors.As(err, &dns) || (errors.As(err, &ne) && !errors.As(err, &errno))
}

// netReason is the short cause of a network error: refused, timed out, unknown host.
func netReason(err error) string {
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.As(err, &dns):
		return "unknown host"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	}
	return "network error"
}

// unreachable names the service and the address that could not be reached (never a path: paths
// may hold emails) and the flag to check.
func unreachable(err error) string {
	msg := err.Error()
	service, flagName := "the server", "--hubspot-url and --learnworlds-url"
	hs, lw := strings.Index(msg, "hubspot:"), strings.Index(msg, "learnworlds:")
	var dbe *storeError
	switch {
	case errors.As(err, &dbe):
		service, flagName = "the database", "--db"
	case hs >= 0 && (lw < 0 || hs < lw):
		service, flagName = "HubSpot", "--hubspot-url"
	case lw >= 0:
		service, flagName = "LearnWorlds", "--learnworlds-url"
	}
	addr := ""
	var op *net.OpError
	var dns *net.DNSError
	var uerr *url.Error
	switch {
	case errors.As(err, &dns):
		addr = dns.Name
	case errors.As(err, &op) && op.Addr != nil:
		addr = op.Addr.String()
	case errors.As(err, &uerr):
		addr = hostOf(uerr.URL)
	}
	if addr != "" {
		service += " at " + addr
	}
	return fmt.Sprintf("cannot reach %s (%s): check %s and the network", service, netReason(err), flagName)
}

// hostOf reduces a URL to scheme and host: paths may hold emails, queries may hold codes.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "the server"
	}
	return u.Scheme + "://" + u.Host
}
