package hubsync

import (
	"context"
	"errors"
	"fmt"

	"github.com/hubsync/hubsync/hubspot"
)

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
	e.schools.invalidateSchema(school) // settings screens expect a fresh look at the schema
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
	rep, _, err := e.reportAndCatalog(ctx, school, s)
	return rep, err
}

// reportAndCatalog is report, also returning the LMS catalog it validated against, for callers
// that need the catalog's fields too (one Learners.Catalog call instead of two).
func (e *Engine) reportAndCatalog(ctx context.Context, school SchoolID, s Settings) (MappingReport, []LearnerField, error) {
	catalog, err := e.cfg.Learners.Catalog(ctx, school)
	if err != nil {
		return MappingReport{}, nil, fmt.Errorf("hubsync: LMS field catalog of %s: %w", school, err)
	}
	props, err := e.properties(ctx, school)
	if err != nil {
		return MappingReport{}, nil, err
	}
	return ValidateMappings(s.Mode, s.Mappings, catalog, props), catalog, nil
}

// properties returns the portal's contact properties, cached for Config.SchemaTTL.
func (e *Engine) properties(ctx context.Context, school SchoolID) ([]Property, error) {
	now := e.clk.Now()
	if props, ok := e.schools.schema(school, now, e.cfg.SchemaTTL); ok {
		return props, nil
	}
	p, err := e.portalFor(ctx, school)
	if err != nil {
		return nil, err
	}
	hp, err := p.client.ListProperties(ctx, false)
	if err != nil {
		return nil, e.settle(ctx, school, fmt.Errorf("hubsync: contact properties of %s: %w", school, err))
	}
	props := make([]Property, 0, len(hp))
	for _, x := range hp {
		props = append(props, propertyFrom(x))
	}
	e.schools.keepSchema(school, props, now)
	return props, nil
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

// Catalog returns the school's mappable LMS fields (its Learners' catalog), in the catalog's
// order, for a settings screen's field picker; group them with FieldCategories. The error wraps
// whatever the Learners implementation returned.
func (e *Engine) Catalog(ctx context.Context, school SchoolID) ([]LearnerField, error) {
	catalog, err := e.cfg.Learners.Catalog(ctx, school)
	if err != nil {
		return nil, fmt.Errorf("hubsync: LMS field catalog of %s: %w", school, err)
	}
	return catalog, nil
}

// Properties returns the contact properties of the school's portal (archived ones are not
// listed), the schema the mapping report checks rows against (cached for Config.SchemaTTL), for a
// settings screen's property picker. ErrNotConnected when the school has no connection,
// ErrConnectionLost when it was deactivated (or HubSpot refused its refresh just now); other
// HubSpot errors are wrapped.
func (e *Engine) Properties(ctx context.Context, school SchoolID) ([]Property, error) {
	props, err := e.properties(ctx, school)
	if err != nil {
		return nil, err
	}
	return append([]Property(nil), props...), nil
}
