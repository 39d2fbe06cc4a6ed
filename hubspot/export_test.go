package hubspot

// WithSearchCap lowers the search result cap the client walks past, so tests can exercise the walk
// with a fake holding fewer contacts (the fake's hubspottest.WithSearchCap must match).
func WithSearchCap(n int) Option { return func(c *config) { c.searchCap = n } }
