package hubsync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hubsync/hubsync/hubspot"
)

type schemaEntry struct {
	props   []Property
	fetched time.Time
}

// SaveSettings validates s (Settings.Validate: a malformed setting is an error wrapping
// ErrInvalidSettings and nothing is saved), stores it, and returns the mapping validation report
// against the school's LMS catalog and its portal's live contact property schema. Invalid rows are
// saved too (the seed shows them with a warning); they are skipped by the sync until fixed.
// ErrNotConnected when the school has no HubSpot connection to check the rows against.
func (e *Engine) SaveSettings(ctx context.Context, school SchoolID, s Settings) (MappingReport, error) {
	if err := s.Validate(); err != nil {
		return MappingReport{}, err
	}
	if _, err := e.Connection(ctx, school); err != nil {
		return MappingReport{}, err
	}
	e.invalidateSchema(school) // settings screens expect a fresh look at the schema
	rep, err := e.report(ctx, school, s)
	if err != nil {
		return MappingReport{}, err
	}
	if err := e.cfg.Store.PutSettings(ctx, school, s); err != nil {
		return MappingReport{}, fmt.Errorf("hubsync: save settings of %s: %w", school, err)
	}
	if rep.Warning != "" {
		e.log.Warn("hubsync: "+rep.Warning, "school", school)
	}
	return rep, nil
}

// Settings returns a school's saved settings, or DefaultSettings when none were saved.
func (e *Engine) Settings(ctx context.Context, school SchoolID) (Settings, error) {
	s, err := e.cfg.Store.GetSettings(ctx, school)
	if errors.Is(err, ErrNotFound) {
		return DefaultSettings(), nil
	}
	return s, err
}

// MappingReport validates the school's saved mapping rows against the current schemas (the
// property schema cached for Config.SchemaTTL), as a settings screen shows them.
func (e *Engine) MappingReport(ctx context.Context, school SchoolID) (MappingReport, error) {
	s, err := e.Settings(ctx, school)
	if err != nil {
		return MappingReport{}, err
	}
	return e.report(ctx, school, s)
}

func (e *Engine) report(ctx context.Context, school SchoolID, s Settings) (MappingReport, error) {
	catalog, err := e.cfg.Learners.Catalog(ctx, school)
	if err != nil {
		return MappingReport{}, fmt.Errorf("hubsync: LMS field catalog of %s: %w", school, err)
	}
	props, err := e.properties(ctx, school)
	if err != nil {
		return MappingReport{}, err
	}
	return ValidateMappings(s.Mode, s.Mappings, catalog, props), nil
}

// properties returns the portal's contact properties, cached for Config.SchemaTTL.
func (e *Engine) properties(ctx context.Context, school SchoolID) ([]Property, error) {
	now := e.clk.Now()
	e.mu.Lock()
	ent, ok := e.schemas[school]
	e.mu.Unlock()
	if ok && now.Sub(ent.fetched) < e.cfg.SchemaTTL {
		return ent.props, nil
	}
	p, err := e.portalFor(ctx, school)
	if err != nil {
		return nil, err
	}
	hp, err := p.client.ListProperties(ctx, false)
	if err != nil {
		return nil, e.hubspotErr(ctx, school, fmt.Errorf("hubsync: contact properties of %s: %w", school, err))
	}
	props := make([]Property, 0, len(hp))
	for _, x := range hp {
		props = append(props, propertyFrom(x))
	}
	e.mu.Lock()
	e.schemas[school] = schemaEntry{props: props, fetched: now}
	e.mu.Unlock()
	return props, nil
}

func (e *Engine) invalidateSchema(school SchoolID) {
	e.mu.Lock()
	delete(e.schemas, school)
	e.mu.Unlock()
}

func propertyFrom(x hubspot.Property) Property {
	p := Property{
		Name: x.Name, Label: x.Label, Type: x.Type, FieldType: x.FieldType,
		ReadOnlyValue: x.ReadOnlyValue, Calculated: x.Calculated, Archived: x.Archived,
		HubSpotDefined: x.HubSpotDefined,
	}
	for _, o := range x.Options {
		p.Options = append(p.Options, PropertyOption{Label: o.Label, Value: o.Value, DisplayOrder: o.DisplayOrder, Hidden: o.Hidden})
	}
	return p
}

// hubspotErr turns a refused refresh into a lost connection (deactivating the school once) and
// passes every other error through.
func (e *Engine) hubspotErr(ctx context.Context, school SchoolID, err error) error {
	if errors.Is(err, hubspot.ErrConnectionRevoked) {
		e.connectionLost(ctx, school, err)
		e.pause(school, e.clk.Now().Add(connectionRecheck))
		return fmt.Errorf("%w: %w", ErrConnectionLost, err)
	}
	var ae *hubspot.APIError
	if errors.As(err, &ae) && ae.StatusCode == http.StatusUnauthorized {
		return e.recheckToken(ctx, school, err)
	}
	return err
}

// recheckToken handles a 401: HubSpot refused an access token that had not expired by our
// clock (revoked, or the app uninstalled). One refresh tells the two apart: refused, the
// connection is lost (deactivate, notify once); granted, the new token is stored and the work is
// retried at once without counting an attempt.
func (e *Engine) recheckToken(ctx context.Context, school SchoolID, cause error) error {
	e.mu.Lock()
	delete(e.clients, school)
	e.mu.Unlock()
	conn, err := e.cfg.Store.GetConnection(ctx, school)
	if err != nil {
		return cause
	}
	tok, err := e.oauth.Refresh(ctx, conn.Token.RefreshToken)
	if errors.Is(err, hubspot.ErrConnectionRevoked) {
		return e.hubspotErr(ctx, school, err)
	}
	if err != nil {
		return cause
	}
	if err := e.persistToken(ctx, school, tok); err != nil {
		return cause
	}
	return &retryNow{cause: cause}
}

// retryNow asks finish to put jobs back for an immediate retry without counting an attempt.
type retryNow struct{ cause error }

func (r *retryNow) Error() string { return "hubsync: retry with a fresh token: " + r.cause.Error() }
func (r *retryNow) Unwrap() error { return r.cause }
