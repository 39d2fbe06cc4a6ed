package hubspottest

import (
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// PropertyOption is one allowed value of an enumeration property.
type PropertyOption struct {
	Label        string
	Value        string
	Hidden       bool
	DisplayOrder int
}

// Property is a contact property definition in the fake's schema.
type Property struct {
	Name           string
	Label          string
	Type           string // string, number, date, datetime, enumeration, bool
	FieldType      string // text, textarea, number, date, select, checkbox, booleancheckbox, calculation_equation...
	GroupName      string
	ReadOnlyValue  bool
	Calculated     bool
	Archived       bool
	HasUniqueValue bool
	HubSpotDefined bool
	Options        []PropertyOption
}

// LifecycleStages are HubSpot's default lifecycle stages, in their forward order.
var LifecycleStages = []string{"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer", "evangelist", "other"}

func defaultProperties() []Property {
	var stages []PropertyOption
	for i, v := range LifecycleStages {
		stages = append(stages, PropertyOption{Label: strings.ToUpper(v[:1]) + v[1:], Value: v, DisplayOrder: i})
	}
	hs := func(name, label, typ, field string) Property {
		return Property{Name: name, Label: label, Type: typ, FieldType: field, GroupName: "contactinformation", HubSpotDefined: true}
	}
	ro := func(p Property) Property { p.ReadOnlyValue = true; return p }
	calc := func(p Property) Property { p.ReadOnlyValue, p.Calculated = true, true; return p }
	lc := hs("lifecyclestage", "Lifecycle Stage", "enumeration", "radio")
	lc.Options = stages
	status := hs("hs_lead_status", "Lead Status", "enumeration", "radio")
	status.Options = []PropertyOption{{Label: "New", Value: "NEW"}, {Label: "Open", Value: "OPEN", DisplayOrder: 1}, {Label: "In progress", Value: "IN_PROGRESS", DisplayOrder: 2}}
	return []Property{
		hs("email", "Email", "string", "text"),
		ro(hs("hs_additional_emails", "Additional email addresses", "enumeration", "checkbox")),
		hs("firstname", "First Name", "string", "text"),
		hs("lastname", "Last Name", "string", "text"),
		hs("phone", "Phone Number", "string", "phonenumber"),
		hs("company", "Company Name", "string", "text"),
		hs("jobtitle", "Job Title", "string", "text"),
		hs("city", "City", "string", "text"),
		hs("country", "Country/Region", "string", "text"),
		hs("date_of_birth", "Date of birth", "date", "date"),
		hs("annualrevenue", "Annual Revenue", "number", "number"),
		lc, status,
		ro(hs("createdate", "Create Date", "datetime", "date")),
		ro(hs("lastmodifieddate", "Last Modified Date", "datetime", "date")),
		ro(hs("hs_object_id", "Record ID", "number", "number")),
		calc(hs("num_associated_deals", "Number of Associated Deals", "number", "calculation_equation")),
	}
}

// AddProperty adds a property to the contact schema (as a HubSpot user would in settings). It
// returns an error when the name is taken or the property has no name or type.
func (s *Server) AddProperty(p Property) error {
	if p.Name == "" || p.Type == "" {
		return errors.New("hubspottest: property needs a name and a type")
	}
	if p.FieldType == "" {
		p.FieldType = map[string]string{"string": "text", "number": "number", "date": "date", "datetime": "date", "enumeration": "select", "bool": "booleancheckbox"}[p.Type]
	}
	if p.Label == "" {
		p.Label = p.Name
	}
	if p.GroupName == "" {
		p.GroupName = "contactinformation"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.props[p.Name]; ok {
		return fmt.Errorf("hubspottest: property %q already exists", p.Name)
	}
	s.addPropertyLocked(p)
	return nil
}

func (s *Server) addPropertyLocked(p Property) {
	s.props[p.Name] = &p
	s.propOrder = append(s.propOrder, p.Name)
}

// ArchiveProperty archives a property: it disappears from the live list and refuses writes. It
// returns an error for an unknown property.
func (s *Server) ArchiveProperty(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.props[name]
	if !ok {
		return fmt.Errorf("hubspottest: no property %q", name)
	}
	p.Archived = true
	return nil
}

// DeleteProperty removes a property and its values from every contact. It returns an error for an
// unknown property.
func (s *Server) DeleteProperty(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.props[name]; !ok {
		return fmt.Errorf("hubspottest: no property %q", name)
	}
	delete(s.props, name)
	for i, n := range s.propOrder {
		if n == name {
			s.propOrder = append(s.propOrder[:i], s.propOrder[i+1:]...)
			break
		}
	}
	for _, c := range s.contacts {
		delete(c.props, name)
	}
	return nil
}

// Properties returns the schema, archived properties included.
func (s *Server) Properties() []Property {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Property, 0, len(s.propOrder))
	for _, n := range s.propOrder {
		out = append(out, *s.props[n])
	}
	return out
}

// checkValueLocked validates a value an app writes; it returns an error detail when HubSpot would
// refuse it. An empty value clears the property and is always accepted on writable properties.
func (s *Server) checkValueLocked(name, value string) *errorDetail {
	p, ok := s.props[name]
	if !ok || p.Archived {
		return &errorDetail{Code: "PROPERTY_DOESNT_EXIST", Message: fmt.Sprintf("Property %q does not exist", name), Context: map[string][]string{"propertyName": {name}}}
	}
	if p.ReadOnlyValue || p.Calculated {
		return &errorDetail{Code: "READ_ONLY_VALUE", Message: fmt.Sprintf("%q is a read only property; its value cannot be set.", name), Context: map[string][]string{"propertyName": {name}}}
	}
	if value == "" {
		return nil
	}
	bad := func(code, msg string) *errorDetail {
		return &errorDetail{Code: code, Message: msg, Context: map[string][]string{"propertyName": {name}}}
	}
	switch p.Type {
	case "number":
		if _, err := strconv.ParseFloat(value, 64); err != nil || strings.ContainsAny(value, "xXpP_") {
			return bad("INVALID_INTEGER", fmt.Sprintf("%s was not a valid number.", value))
		}
	case "date":
		if ms, err := strconv.ParseInt(value, 10, 64); err == nil {
			if ms%(24*3600*1000) != 0 {
				return bad("INVALID_DATE", fmt.Sprintf("%s is at %s, which isn't midnight UTC.", value, time.UnixMilli(ms).UTC().Format(time.RFC3339)))
			}
		} else if _, err := time.Parse("2006-01-02", value); err != nil {
			return bad("INVALID_DATE", fmt.Sprintf("%s was not a valid date (YYYY-MM-DD or epoch milliseconds at midnight UTC).", value))
		}
	case "datetime":
		if _, err := strconv.ParseInt(value, 10, 64); err != nil {
			if _, err := time.Parse(time.RFC3339Nano, value); err != nil {
				if _, err := time.Parse("2006-01-02", value); err != nil {
					return bad("INVALID_DATETIME", fmt.Sprintf("%s was not a valid datetime.", value))
				}
			}
		}
	case "bool":
		if value != "true" && value != "false" {
			return bad("INVALID_BOOLEAN", fmt.Sprintf("%s was not a valid boolean (true or false).", value))
		}
	case "enumeration":
		vals := []string{value}
		if p.FieldType == "checkbox" {
			vals = strings.Split(strings.TrimPrefix(value, ";"), ";")
		}
		for _, v := range vals {
			found := false
			for _, o := range p.Options {
				found = found || o.Value == v
			}
			if !found {
				return bad("INVALID_OPTION", fmt.Sprintf("%s was not one of the allowed options: %s", v, optionList(p.Options)))
			}
		}
	}
	if name == "email" {
		if _, err := mail.ParseAddress(value); err != nil || !strings.Contains(value, "@") || strings.ContainsAny(value, " <>") {
			return bad("INVALID_EMAIL", fmt.Sprintf("Email address %s is invalid", value))
		}
	}
	return nil
}

func optionList(opts []PropertyOption) string {
	var vals []string
	for _, o := range opts {
		vals = append(vals, o.Value)
	}
	return "[" + strings.Join(vals, ", ") + "]"
}

func (p *Property) wire() map[string]any {
	opts := make([]map[string]any, 0, len(p.Options))
	for _, o := range p.Options {
		opts = append(opts, map[string]any{"label": o.Label, "value": o.Value, "hidden": o.Hidden, "displayOrder": o.DisplayOrder})
	}
	return map[string]any{
		"name": p.Name, "label": p.Label, "type": p.Type, "fieldType": p.FieldType, "groupName": p.GroupName,
		"description": "", "options": opts, "calculated": p.Calculated, "archived": p.Archived,
		"hasUniqueValue": p.HasUniqueValue, "hubspotDefined": p.HubSpotDefined, "formField": !p.ReadOnlyValue,
		"modificationMetadata": map[string]any{"archivable": !p.HubSpotDefined, "readOnlyDefinition": p.HubSpotDefined, "readOnlyValue": p.ReadOnlyValue},
	}
}

// handleProperties lists contact properties: live ones, or with archived=true only archived ones.
func (s *Server) handleProperties(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("objectType") != "contacts" && r.PathValue("objectType") != "0-1" {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "hubspottest: only the contacts object type is modelled", nil)
		return
	}
	archived := r.URL.Query().Get("archived") == "true"
	s.mu.Lock()
	defer s.mu.Unlock()
	results := []map[string]any{}
	for _, n := range s.propOrder {
		if p := s.props[n]; p.Archived == archived {
			results = append(results, p.wire())
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}
