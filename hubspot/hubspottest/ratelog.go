package hubspottest

import (
	"slices"
	"time"
)

// WithRateLog makes the server remember the time of every request it counted against the burst
// limit (requests it answered with a 429 are not counted), so a benchmark can measure how many
// requests each window of the limit held. Off by default: the log grows by one entry a request.
func WithRateLog() Option { return func(o *options) { o.rateLog = true } }

// RateLog returns the times, on the server's clock and in arrival order, of the requests counted
// against the burst limit since the server started or since the last ResetRateLog. It is empty
// without WithRateLog.
func (s *Server) RateLog() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rateLog)
}

// ResetRateLog forgets the times RateLog returns.
func (s *Server) ResetRateLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLog = nil
}
