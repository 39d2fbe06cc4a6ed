// Package settingsui is the school admin's HubSpot settings page: an http.Handler over a
// *hubsync.Engine that a host mounts under a path of its own. It reproduces the settings screen of
// the LearnWorlds HubSpot integration, for one school at a time:
//
//   - Activate: connect the school to its HubSpot portal (OAuth through the engine); once
//     connected, the HubSpot account (portal id and domain); a lost connection shown as such, with
//     Reconnect.
//   - Sync direction: LearnWorlds -> HubSpot (the default), HubSpot -> LearnWorlds only, or two-way
//     with a direction per mapping row.
//   - Field mapping: add, edit and remove rows joining an LMS field (grouped by the seed's
//     categories) to a HubSpot contact property (from the portal's live schema, with its type);
//     saving returns the engine's mapping report, and invalid rows are marked in place with their
//     reasons under the aggregate warning.
//   - Update Lifecycle Stage, with the rule it follows; HubSpot timeline events, one switch per
//     kind (once-only kinds labelled); the inbound options (new learner creation, welcome email,
//     tags, data validation); the GDPR toolkit; the school email told of a lost connection.
//   - Manual sync with its direction, a "Sync in progress" indicator whose counts, rate, ETA and
//     failures update without a reload (the page polls a small JSON endpoint), cancel, and the last
//     run's summary with its failure reasons.
//   - Disconnect, with the note that HubSpot's side (Connected Apps -> Uninstall) is separate.
//
// # Mounting
//
// The host says who the admin is and which school they manage (Options.Authorize), where the
// page lives (Options.BasePath) and, optionally, its own page layout (Options.Layout):
//
//	ui, err := settingsui.New(settingsui.Options{Engine: eng, BasePath: "/admin/hubspot", Authorize: whoIsAdmin})
//	mux.Handle("/admin/hubspot/", ui)
//
// The engine's HubSpotApp.RedirectURL must be the page's OAuth callback on the host's public
// origin: BasePath + CallbackPath ("https://school.example/admin/hubspot/oauth/callback").
//
// # Security
//
// Every request but the static assets goes through Options.Authorize; a refusal is a 403. Every
// form carries a CSRF token bound to the admin and the school (an HMAC under Options.Secret, valid
// for TokenTTL); a POST without a valid one, or one a browser marks cross-origin, is refused with a
// 403 saying so. The OAuth callback is protected by the engine's signed state instead, and must
// come back for the school the admin manages. Nothing secret is rendered: no token, no client
// secret, and email addresses only masked (j***@example.com). The default layout sends a strict
// Content-Security-Policy: the page's script and style are files of this package, embedded, with
// no build step and no CDN.
//
// The page is plain HTML forms that work with the keyboard, every control labelled for screen
// readers; the script only adds and removes mapping rows, shows the per-row direction in two-way
// mode and refreshes the manual sync's progress.
package settingsui
