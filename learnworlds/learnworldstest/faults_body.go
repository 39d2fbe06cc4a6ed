package learnworldstest

import (
	"net/http"

	"github.com/hubsync/hubsync/internal/bodyfault"
)

// spoilsBody reports whether f carries the request out and then spoils the answer's body.
func (f *Fault) spoilsBody() bool { return f.TruncateBody || f.SlowBody > 0 }

// spoilBody answers the request normally into a buffer with serve (so a write lands) and then
// sends the answer cut off mid-body (TruncateBody) or trickling (SlowBody).
func (s *Server) spoilBody(w http.ResponseWriter, r *http.Request, f *Fault, serve func(http.ResponseWriter)) {
	if f.TruncateBody {
		bodyfault.Truncate(w, serve)
		return
	}
	bodyfault.Trickle(w, r, s.clk, f.SlowBody, serve)
}
