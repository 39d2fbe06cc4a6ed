package main

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/learnworlds/learnworldstest"
)

const (
	testNotifyTo   = "admin.person@school.example"
	testSMTPFrom   = "hubsync@ops.example"
	testSMTPUser   = "mailer@ops.example"
	testSMTPSecret = "smtp-pass-word-123456"
)

// testApp is an app logging into a buffer.
func testApp(log *bytes.Buffer) *app {
	return &app{stdout: io.Discard, stderr: io.Discard, log: slog.New(slog.NewTextHandler(log, nil))}
}

// TestSMTPNotifierSTARTTLS sends the notice through the in-process server: STARTTLS before AUTH
// PLAIN, one message to the school's address with the reason, nothing secret logged.
func TestSMTPNotifierSTARTTLS(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t, true)
	roots := x509.NewCertPool()
	roots.AddCert(srv.tls.Certificates[0].Leaf)
	var log bytes.Buffer
	a := testApp(&log)
	a.notify = notifyConfig{smtpHost: "127.0.0.1", smtpPort: srv.port(), smtpFrom: testSMTPFrom, smtpUser: testSMTPUser,
		smtpPassword: testSMTPSecret, smtpTLS: smtpTLSRequired, roots: roots}
	n, err := a.notifier()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.ConnectionLost(t.Context(), "school-1", testNotifyTo, "HubSpot refused the refresh token"); err != nil {
		t.Fatal(err)
	}
	msgs := srv.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if !m.tls || !m.authTLS {
		t.Errorf("message under TLS %v, AUTH under TLS %v; want both", m.tls, m.authTLS)
	}
	if m.user != testSMTPUser || m.password != testSMTPSecret {
		t.Errorf("AUTH PLAIN got user %q", m.user)
	}
	if m.from != testSMTPFrom || len(m.to) != 1 || m.to[0] != testNotifyTo {
		t.Errorf("envelope from %q to %q", m.from, m.to)
	}
	body := decodeMessage(t, m.data)
	for _, want := range []string{"To: " + testNotifyTo, "Subject: hubsync: the HubSpot connection of school school-1 was lost",
		"Reason: HubSpot refused the refresh token", "Reconnect the school"} {
		if !strings.Contains(body, want) {
			t.Errorf("message lacks %q:\n%s", want, body)
		}
	}
	assertNoSecrets(t, log.String())
	if !strings.Contains(log.String(), hubsync.MaskEmail(testNotifyTo)) {
		t.Errorf("the log does not name the masked address: %s", log.String())
	}
}

// TestSMTPNotifierRequiresSTARTTLS: starttls-required refuses a server that does not offer it,
// and the error names no address or password.
func TestSMTPNotifierRequiresSTARTTLS(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t, false)
	var log bytes.Buffer
	a := testApp(&log)
	a.notify = notifyConfig{smtpHost: "127.0.0.1", smtpPort: srv.port(), smtpFrom: testSMTPFrom, smtpUser: testSMTPUser,
		smtpPassword: testSMTPSecret, smtpTLS: smtpTLSRequired}
	n, err := a.notifier()
	if err != nil {
		t.Fatal(err)
	}
	err = n.ConnectionLost(t.Context(), "school-1", testNotifyTo, "revoked")
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err = %v, want a refusal naming STARTTLS", err)
	}
	assertNoSecrets(t, err.Error())
	if len(srv.messages()) != 0 {
		t.Fatal("a message was sent without TLS")
	}
	// The school names no address and --notify-to is unset: an error, not a guess.
	a.notify.smtpTLS = smtpTLSOff
	n, _ = a.notifier()
	if err := n.ConnectionLost(t.Context(), "school-1", "", "revoked"); err == nil || !strings.Contains(err.Error(), "notify_email") {
		t.Fatalf("err = %v, want one naming notify_email", err)
	}
	// --notify-to fills in.
	a.notify.to = testNotifyTo
	n, _ = a.notifier()
	if err := n.ConnectionLost(t.Context(), "school-1", "", "revoked"); err != nil {
		t.Fatal(err)
	}
	if msgs := srv.messages(); len(msgs) != 1 || msgs[0].to[0] != testNotifyTo {
		t.Fatalf("messages %+v, want one to --notify-to", msgs)
	}
}

// TestNotifierFlagsRefused: bad notification flags are usage errors.
func TestNotifierFlagsRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []notifyConfig{
		{smtpHost: "h", smtpPort: "25", smtpTLS: smtpTLSAuto},                                        // no from
		{smtpHost: "h", smtpPort: "x", smtpFrom: testSMTPFrom, smtpTLS: smtpTLSAuto},                 // port
		{smtpHost: "h", smtpPort: "25", smtpFrom: testSMTPFrom, smtpTLS: "ssl"},                      // mode
		{smtpHost: "h", smtpPort: "25", smtpFrom: testSMTPFrom, smtpTLS: smtpTLSAuto, smtpUser: "u"}, // no password
		{webhookURL: "ftp://x"}, // scheme
	} {
		a := testApp(&bytes.Buffer{})
		a.notify = c
		if _, err := a.notifier(); err == nil {
			t.Errorf("%+v: no error", c)
		} else if _, ok := err.(*usageError); !ok {
			t.Errorf("%+v: %T, want a usage error", c, err)
		}
	}
}

// TestWebhookNotifierSigned: the JSON notice and its HMAC signature.
func TestWebhookNotifierSigned(t *testing.T) {
	t.Parallel()
	const secret = "notice-secret-0123456789"
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	a := testApp(&bytes.Buffer{})
	a.notify = notifyConfig{webhookURL: srv.URL + "/notice", webhookSecret: secret}
	n, err := a.notifier()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.ConnectionLost(t.Context(), "school-1", testNotifyTo, "revoked"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	r, body := got[0], bodies[0]
	ts := r.Header.Get("X-Hubsync-Timestamp")
	if sig := r.Header.Get("X-Hubsync-Signature"); sig != signNotice(secret, ts, body) || !strings.HasPrefix(sig, "v1=") {
		t.Errorf("signature %q does not verify", sig)
	}
	var note notice
	if err := json.Unmarshal(body, &note); err != nil {
		t.Fatal(err)
	}
	if note.Event != "connection_lost" || note.School != "school-1" || note.To != testNotifyTo || note.Reason != "revoked" {
		t.Errorf("notice %+v", note)
	}
	// A refusal is an error naming the status only.
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, testNotifyTo, http.StatusBadGateway) })
	mu.Unlock()
	err = n.ConnectionLost(t.Context(), "school-1", testNotifyTo, "revoked")
	mu.Lock()
	if err == nil || !strings.Contains(err.Error(), "502") || strings.Contains(err.Error(), testNotifyTo) {
		t.Errorf("err = %v, want the status without the address", err)
	}
}

// TestConnectionLostEmailedOnce runs two serve processes on one SQLite file, the school's app
// uninstalled under them, both restarted: the school gets exactly one email for the lost
// connection. Reconnected and lost again, it gets a second one. status shows it degraded and
// exits 4; no log line holds the SMTP password or the full address.
func TestConnectionLostEmailedOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seedSchool(t, f.lw, 4)
	f.connect(t)
	path := f.writeFile(t, "settings.json", `{"notify_email": "`+testNotifyTo+`", "mappings": [{"lms_field": "username", "hubspot_property": "firstname"}]}`)
	if r := f.run(t, "settings", "apply", "-f", path); r.code != 0 {
		t.Fatalf("settings apply: exit %d\n%s", r.code, r.stderr)
	}
	srv := newSMTPServer(t, false)
	const secret = "notify-test-webhook-secret"
	mail := []string{"--smtp-host", "127.0.0.1", "--smtp-port", srv.port(), "--smtp-from", testSMTPFrom,
		"--smtp-user", testSMTPUser, "--smtp-password", testSMTPSecret, "--listen", "127.0.0.1:0",
		"--learnworlds-webhook-secret", secret}
	var logs []*started
	startServe := func() (*started, string) {
		s := f.start(t, append([]string{"serve"}, mail...)...)
		line := s.waitLine(t, func(l string) bool { return strings.HasPrefix(l, "Serving school") })
		logs = append(logs, s)
		return s, line[strings.LastIndex(line, " ")+1:]
	}
	stop := func(s *started) {
		_ = s.cmd.Process.Signal(os.Interrupt)
		s.wait(t)
	}
	change := func(base string, i int) {
		f.lw.SetWebhook(base+"/learnworlds/webhooks", secret, false)
		if _, err := f.lw.Update(t.Context(), learnerEmail(i), func(u *learnworldstest.User) { u.Fields["country"] = "C" + string(rune('A'+i)) }); err != nil {
			t.Fatal(err)
		}
	}
	a, baseA := startServe()
	b, baseB := startServe()
	change(baseA, 1)
	waitFor(t, "the first change in HubSpot", func() bool { c, ok := f.hs.Contact(learnerEmail(1)); return ok && c.Properties["firstname"] != "" })

	f.hs.Uninstall()
	change(baseA, 2)
	change(baseB, 3)
	waitFor(t, "the email", func() bool { return len(srv.messages()) >= 1 })
	stop(a)
	stop(b)
	a, baseA = startServe()
	b, baseB = startServe()
	change(baseA, 0)
	change(baseB, 1)
	// Both restarted engines took the changes in; their workers find the connection lost.
	waitFor(t, "the changes queued by the restarted processes", func() bool {
		r := f.run(t, "status", "--json", "--school", "default")
		var st hubsync.SchoolStatus
		_ = json.Unmarshal([]byte(r.stdout), &st)
		return st.Queue.Ready+st.Queue.Scheduled+st.Queue.Leased >= 3
	})
	r := f.run(t, "status", "--school", "default")
	if r.code != exitDegraded || !strings.Contains(r.stdout, "DEGRADED: connection_lost") {
		t.Fatalf("status: exit %d, want %d and DEGRADED: connection_lost\n%s\n%s", r.code, exitDegraded, r.stdout, r.stderr)
	}
	if msgs := srv.messages(); len(msgs) != 1 {
		t.Fatalf("%d emails after the first loss, two processes and a restart; want 1", len(msgs))
	}
	m := srv.messages()[0]
	if m.to[0] != testNotifyTo || !strings.Contains(decodeMessage(t, m.data), "was lost") {
		t.Errorf("email to %v:\n%s", m.to, m.data)
	}

	// Reconnected (a new connection) and lost again: a second email.
	f.connect(t)
	change(baseA, 2)
	waitFor(t, "the change after the reconnect in HubSpot", func() bool {
		c, ok := f.hs.Contact(learnerEmail(2)) // its change was kept through the loss
		return ok && c.Properties["firstname"] != ""
	})
	f.hs.Uninstall()
	// A change of the mapped value (the username), so that B must call HubSpot and meet the loss:
	// learner 3's earlier change may have been synced already after the reconnect.
	f.lw.SetWebhook(baseB+"/learnworlds/webhooks", secret, false)
	if _, err := f.lw.Update(t.Context(), learnerEmail(3), func(u *learnworldstest.User) { u.Username = "renamed-after-reconnect" }); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second email", func() bool { return len(srv.messages()) >= 2 })
	stop(a)
	stop(b)
	if n := len(srv.messages()); n != 2 {
		t.Fatalf("%d emails after two losses, want 2", n)
	}
	for _, s := range logs {
		assertNoSecrets(t, s.stderr.String()+s.all.String())
	}
}

// decodeMessage undoes the quoted-printable body.
func decodeMessage(t *testing.T, data string) string {
	t.Helper()
	head, body, _ := strings.Cut(data, "\r\n\r\n")
	b, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	return head + "\r\n\r\n" + string(b)
}

// assertNoSecrets fails when s holds the SMTP password or a full address of the tests.
func assertNoSecrets(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{testSMTPSecret, testNotifyTo, testSMTPUser} {
		if strings.Contains(s, secret) {
			t.Errorf("%q appears in:\n%s", secret, s)
		}
	}
}
