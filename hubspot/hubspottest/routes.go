package hubspottest

// routes registers every endpoint the fake models, under both API generations.
func (s *Server) routes() {
	for _, base := range []string{"/crm/v3/objects/contacts", "/crm/objects/2026-03/contacts"} {
		s.handle(route{pattern: "GET " + base, auth: true, h: s.handleList})
		s.handle(route{pattern: "GET " + base + "/{contactId}", auth: true, h: s.handleGet})
		s.handle(route{pattern: "POST " + base + "/batch/upsert", auth: true, h: s.handleBatchUpsert})
		s.handle(route{pattern: "POST " + base + "/batch/read", auth: true, h: s.handleBatchRead})
		s.handle(route{pattern: "POST " + base, auth: true, h: s.handleCreate})
		s.handle(route{pattern: "POST " + base + "/batch/create", auth: true, h: s.handleBatchCreate})
		s.handle(route{pattern: "POST " + base + "/batch/update", auth: true, h: s.handleBatchUpdate})
		s.handle(route{pattern: "PATCH " + base + "/{contactId}", auth: true, h: s.handlePatch})
		s.handle(route{pattern: "POST " + base + "/search", auth: true, search: true, h: s.handleSearch})
	}
	for _, base := range []string{"/crm/v3/properties", "/crm/properties/2026-03"} {
		s.handle(route{pattern: "GET " + base + "/{objectType}", auth: true, h: s.handleProperties})
	}
	s.handle(route{pattern: "POST /integrators/timeline/v3/events/batch/create", auth: true, h: s.handleLegacyBatch})
	s.handle(route{pattern: "POST /integrators/timeline/2026-03/events/batch", auth: true, h: s.handleAppEventsBatch})
	s.handle(route{pattern: "POST /integrators/timeline/2026-03/events", auth: true, h: s.handleAppEvent})
	for _, v := range []string{"v3", "2026-03"} {
		s.handle(route{pattern: "POST /oauth/" + v + "/token", h: s.handleToken})
		s.handle(route{pattern: "POST /oauth/" + v + "/token/introspect", h: s.handleIntrospect})
		s.handle(route{pattern: "POST /oauth/" + v + "/token/revoke", h: s.handleRevoke})
	}
	s.handle(route{pattern: "GET /oauth/authorize", h: s.handleAuthorize})
	s.journalRoutes()
}
