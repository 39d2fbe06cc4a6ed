package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/learnworlds"
)

// This file is the command's side of each school's stored LearnWorlds connection
// (hubsync.LMSConnection): "connect" checks the one the --learnworlds-* flags give and stores it
// with the school, sealed like the HubSpot tokens; every other command uses the flags when one
// of them is given and the stored connection otherwise, so "serve" needs no per-school flags.

// lwFlagsGiven reports whether any LearnWorlds connection flag (or its variable) is set.
func (c config) lwFlagsGiven() bool {
	return c.lwURL != "" || c.lwID != "" || c.lwSecret != "" || c.lwToken != ""
}

// flagLMS is the LearnWorlds connection the flags give, for school.
func (c config) flagLMS(school hubsync.SchoolID) hubsync.LMSConnection {
	return hubsync.LMSConnection{
		School: school, BaseURL: c.lwURL, ClientID: c.lwID, ClientSecret: c.lwSecret, AccessToken: c.lwToken,
		WebhookSecret: c.lwHookSecret, WebhookScheme: c.lwHookScheme,
	}
}

// lmsFor returns the school's LearnWorlds connection: the flags' when one is given, else the one
// stored with the school. ok is false when there is neither.
func (a *app) lmsFor(ctx context.Context, st backend, school hubsync.SchoolID) (hubsync.LMSConnection, bool, error) {
	if a.cfg.lwFlagsGiven() {
		return a.cfg.flagLMS(school), true, nil
	}
	c, err := st.GetLMSConnection(ctx, school)
	if errors.Is(err, hubsync.ErrNotFound) {
		return hubsync.LMSConnection{}, false, nil
	}
	if err != nil {
		return hubsync.LMSConnection{}, false, fmt.Errorf("reading the stored LearnWorlds connection of school %q: %w", school, err)
	}
	if a.cfg.lwHookSecret != "" { // the flag's webhook secret wins over the stored one
		c.WebhookSecret, c.WebhookScheme = a.cfg.lwHookSecret, a.cfg.lwHookScheme
	}
	return c, true, nil
}

// storeLMS stores c with its school (its secrets sealed with --token-key, as the HubSpot
// tokens are).
func storeLMS(ctx context.Context, st backend, c hubsync.LMSConnection) error {
	if err := st.PutLMSConnection(ctx, c); err != nil {
		return fmt.Errorf("storing the LearnWorlds connection of school %q: %w", c.School, err)
	}
	return nil
}

// lwClient builds the LearnWorlds client of c, with --learnworlds-rate-limit. Errors are usage
// errors naming the flag or field.
func (a *app) lwClient(c hubsync.LMSConnection) (*learnworlds.Client, error) {
	n, per, err := parseRate("learnworlds-rate-limit", a.cfg.lwRate)
	if err != nil {
		return nil, &usageError{msg: err.Error()}
	}
	client, err := learnworlds.New(learnworlds.Config{
		BaseURL: c.BaseURL, ClientID: c.ClientID, ClientSecret: c.ClientSecret, AccessToken: c.AccessToken,
		RateLimit: n, RatePer: per, Logger: a.log,
	})
	if err != nil {
		return nil, &usageError{msg: err.Error()}
	}
	return client, nil
}

// lwVerifier is the webhook verifier of c; ok is false when c has no webhook secret.
func lwVerifier(c hubsync.LMSConnection) (learnworlds.Verifier, bool) {
	if c.WebhookSecret == "" {
		return learnworlds.Verifier{}, false
	}
	scheme := learnworlds.SignatureStatic
	if c.WebhookScheme == hubsync.LMSWebhookHMAC {
		scheme = learnworlds.SignatureHMACSHA256
	}
	return learnworlds.Verifier{Secret: c.WebhookSecret, Scheme: scheme}, true
}

// checkWebhookScheme refuses a --learnworlds-webhook-scheme other than static or hmac.
func checkWebhookScheme(s string) error {
	switch s {
	case hubsync.LMSWebhookStatic, hubsync.LMSWebhookHMAC:
		return nil
	}
	return &usageError{msg: fmt.Sprintf("--learnworlds-webhook-scheme %q: want static or hmac", s)}
}

// checkLMS makes one real call to the school's LearnWorlds API (the first user, one a page), so
// that a wrong address or secret is found by "connect", not by the first sync.
func (a *app) checkLMS(ctx context.Context, c hubsync.LMSConnection) error {
	if err := c.Validate(); err != nil {
		return &usageError{msg: fmt.Sprintf("the LearnWorlds connection: %v (set --learnworlds-url, --learnworlds-client-id and --learnworlds-client-secret or --learnworlds-token)", err)}
	}
	client, err := a.lwClient(c)
	if err != nil {
		return err
	}
	if _, err := client.ListUsersPage(ctx, 1, learnworlds.ListUsersOptions{PerPage: 1}); err != nil {
		return fmt.Errorf("checking the LearnWorlds connection: %w", err)
	}
	return nil
}
