// Package bodyfault is what the fake servers (hubspottest, learnworldstest) share to misbehave at
// the HTTP level: it spoils the body of an answer, running the real handler first so a write the
// request asked for lands, and then either cutting the answer off mid-body (a connection reset
// after the status line and headers) or sending the body so slowly that a client's timeout ends
// the request; and it lets a delayed request notice a client that gave up.
package bodyfault

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/hubsync/hubsync/clock"
)

// Truncate runs serve into a buffer, then writes the status line, the headers (with the full
// Content-Length) and the first half of the body to the client, and closes the connection. The
// client sees a reset mid-body (io.ErrUnexpectedEOF) of an answer whose request was carried out.
// When the connection cannot be hijacked (HTTP/2), the handler aborts after the half body.
func Truncate(w http.ResponseWriter, serve func(http.ResponseWriter)) {
	rec := httptest.NewRecorder()
	serve(rec)
	body := rec.Body.Bytes()
	half := body[:len(body)/2]
	hj, ok := w.(http.Hijacker)
	if !ok {
		copyHeader(w, rec, len(body))
		_, _ = w.Write(half)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	writeHead(buf, rec, len(body))
	_, _ = buf.Write(half)
	_ = buf.Flush()
}

// Trickle runs serve into a buffer, then sends its status and headers at once and its body one
// byte every d of clk, flushing each byte, until the body is sent or the client goes away (the
// request's context ends). With d long against the client's timeout, the client gives up mid-body.
func Trickle(w http.ResponseWriter, r *http.Request, clk clock.Clock, d time.Duration, serve func(http.ResponseWriter)) {
	rec := httptest.NewRecorder()
	serve(rec)
	body := rec.Body.Bytes()
	copyHeader(w, rec, len(body))
	fl, _ := w.(http.Flusher)
	for i := range body {
		if _, err := w.Write(body[i : i+1]); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
		if i < len(body)-1 && clock.Sleep(r.Context(), clk, d) != nil {
			return
		}
	}
}

func copyHeader(w http.ResponseWriter, rec *httptest.ResponseRecorder, n int) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(n))
	w.WriteHeader(rec.Code)
}

func writeHead(buf *bufio.ReadWriter, rec *httptest.ResponseRecorder, n int) {
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", rec.Code, http.StatusText(rec.Code))
	h := rec.Header().Clone()
	h.Set("Content-Length", strconv.Itoa(n))
	h.Set("Connection", "close")
	_ = h.Write(buf)
	_, _ = buf.WriteString("\r\n")
}

// ReadAhead reads r's body into memory and puts it back for the handler. A server notices a
// client that went away (and ends r's context) only once the request's body has been read, so a
// fault that makes a POST wait must read it first, or it waits out its whole delay after the
// client gave up (and the server's Close waits with it).
func ReadAhead(r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	if err != nil {
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), errReader{err}))
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
