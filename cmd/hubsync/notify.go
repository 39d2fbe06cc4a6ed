package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hubsync/hubsync"
)

// The command's Notifier: the email the seed promises when a school's HubSpot connection is lost
// ("You will be notified via email at the address specified under School Emails"), sent over SMTP,
// and/or a JSON notice POSTed to a webhook. The engine calls it once per lost connection, however
// many processes share the store (its once-ledger, see hubsync.Engine's connectionLost); without
// either configured the loss is only logged, as before.

// notifyConfig is the notification flags.
type notifyConfig struct {
	smtpHost, smtpPort, smtpFrom, smtpUser, smtpPassword, smtpTLS string
	to                                                            string
	webhookURL, webhookSecret                                     string
	// roots, when set, are the CAs the SMTP server's certificate is checked against (tests).
	roots *x509.CertPool
}

// SMTP TLS modes (--smtp-tls).
const (
	smtpTLSAuto     = "starttls"          // STARTTLS when the server offers it (the default)
	smtpTLSRequired = "starttls-required" // refuse to send unless the server offers STARTTLS
	smtpTLSImplicit = "tls"               // TLS from the first byte (port 465)
	smtpTLSOff      = "none"              // never TLS (a relay on localhost)
)

// notifyFlags registers the notification flags.
func (a *app) notifyFlags(fs *flag.FlagSet) {
	c := &a.notify
	a.str(fs, &c.smtpHost, "smtp-host", "HUBSYNC_SMTP_HOST", "", "SMTP server that emails a school when its HubSpot connection is lost (off when empty)")
	a.str(fs, &c.smtpPort, "smtp-port", "HUBSYNC_SMTP_PORT", "587", "SMTP server port")
	a.str(fs, &c.smtpFrom, "smtp-from", "HUBSYNC_SMTP_FROM", "", "the notification email's From address (required with --smtp-host)")
	a.str(fs, &c.smtpUser, "smtp-user", "HUBSYNC_SMTP_USER", "", "SMTP user name (AUTH PLAIN, only over TLS or to localhost)")
	a.str(fs, &c.smtpPassword, "smtp-password", "HUBSYNC_SMTP_PASSWORD", "", "SMTP password (prefer the environment variable)")
	a.str(fs, &c.smtpTLS, "smtp-tls", "HUBSYNC_SMTP_TLS", smtpTLSAuto, "starttls (when offered), starttls-required, tls (implicit, port 465) or none")
	a.str(fs, &c.to, "notify-to", "HUBSYNC_NOTIFY_TO", "", "where to send the notice when the school's settings name no notify_email")
	a.str(fs, &c.webhookURL, "notify-webhook-url", "HUBSYNC_NOTIFY_WEBHOOK_URL", "", "URL that receives a JSON notice (POST) when a connection is lost")
	a.str(fs, &c.webhookSecret, "notify-webhook-secret", "HUBSYNC_NOTIFY_WEBHOOK_SECRET", "", "signs the JSON notice: X-Hubsync-Signature: v1=hex(HMAC-SHA256(secret, timestamp + \".\" + body))")
}

// notifier builds the configured Notifier: SMTP, a webhook, both, or the log only.
func (a *app) notifier() (hubsync.Notifier, error) {
	c := a.notify
	var ns multiNotifier
	if c.smtpHost != "" {
		s, err := newSMTPNotifier(c)
		if err != nil {
			return nil, err
		}
		ns = append(ns, s)
	}
	if c.webhookURL != "" {
		u, err := url.Parse(c.webhookURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, &usageError{msg: "--notify-webhook-url: want an http:// or https:// URL"}
		}
		ns = append(ns, &webhookNotifier{url: c.webhookURL, secret: c.webhookSecret, client: &http.Client{Timeout: 30 * time.Second}})
	}
	if len(ns) == 0 {
		return logNotifier{a}, nil
	}
	return loggedNotifier{a: a, n: ns, fallback: c.to}, nil
}

// loggedNotifier sends through n, to the fallback address when the school names none, and logs
// the outcome with the address masked.
type loggedNotifier struct {
	a        *app
	n        hubsync.Notifier
	fallback string
}

func (l loggedNotifier) ConnectionLost(ctx context.Context, school hubsync.SchoolID, to, reason string) error {
	if to == "" {
		to = l.fallback
	}
	err := l.n.ConnectionLost(ctx, school, to, reason)
	if err != nil {
		return err
	}
	l.a.log.Warn("hubsync: the HubSpot connection was lost; the school was notified. Run \"hubsync connect\" again, then \"hubsync sync\" to catch up",
		"school", school, "notify", hubsync.MaskEmail(to))
	return nil
}

// multiNotifier tells every one of its notifiers; the errors are joined.
type multiNotifier []hubsync.Notifier

func (m multiNotifier) ConnectionLost(ctx context.Context, school hubsync.SchoolID, to, reason string) error {
	var errs []error
	for _, n := range m {
		errs = append(errs, n.ConnectionLost(ctx, school, to, reason))
	}
	return errors.Join(errs...)
}

// notice is what a lost connection says, by email or as JSON.
type notice struct {
	Event  string `json:"event"` // "connection_lost"
	School string `json:"school"`
	// To is the school's notification address (Settings.NotifyEmail, or --notify-to), for a
	// receiver that mails it on; "" when neither is set.
	To     string    `json:"notify_email,omitempty"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	Action string    `json:"action"`
}

func newNotice(school hubsync.SchoolID, to, reason string) notice {
	return notice{
		Event: "connection_lost", School: string(school), To: to, Reason: reason, At: time.Now().UTC(),
		Action: "Reconnect the school to HubSpot (hubsync connect, or the settings page), then run a manual sync to catch up: pending changes were kept.",
	}
}

// smtpNotifier emails the notice.
type smtpNotifier struct {
	host, port, from, user, password, mode string
	roots                                  *x509.CertPool
	timeout                                time.Duration
}

func newSMTPNotifier(c notifyConfig) (*smtpNotifier, error) {
	if c.smtpFrom == "" {
		return nil, &usageError{msg: "--smtp-from is required with --smtp-host"}
	}
	if err := hubsync.ValidateEmail(c.smtpFrom); err != nil {
		return nil, &usageError{msg: "--smtp-from is not an email address"}
	}
	if p, err := strconv.Atoi(c.smtpPort); err != nil || p < 1 || p > 65535 {
		return nil, &usageError{msg: fmt.Sprintf("--smtp-port %q: want a port number", c.smtpPort)}
	}
	switch c.smtpTLS {
	case smtpTLSAuto, smtpTLSRequired, smtpTLSImplicit, smtpTLSOff:
	default:
		return nil, &usageError{msg: fmt.Sprintf("--smtp-tls %q: want starttls, starttls-required, tls or none", c.smtpTLS)}
	}
	if (c.smtpUser == "") != (c.smtpPassword == "") {
		return nil, &usageError{msg: "--smtp-user and --smtp-password go together"}
	}
	return &smtpNotifier{host: c.smtpHost, port: c.smtpPort, from: c.smtpFrom, user: c.smtpUser, password: c.smtpPassword,
		mode: c.smtpTLS, roots: c.roots, timeout: time.Minute}, nil
}

// ConnectionLost emails the school. Without an address it fails, saying so.
func (s *smtpNotifier) ConnectionLost(ctx context.Context, school hubsync.SchoolID, to, reason string) error {
	if to == "" {
		return errors.New("hubsync: no address to email: the school's settings have no notify_email and --notify-to is not set")
	}
	if err := hubsync.ValidateEmail(to); err != nil {
		return errors.New("hubsync: the notification address is not an email address")
	}
	msg, err := s.message(newNotice(school, to, reason))
	if err != nil {
		return err
	}
	if err := s.send(ctx, to, msg); err != nil {
		return s.scrub(to, err)
	}
	return nil
}

// scrub returns err's text with the addresses masked and the password removed (an SMTP server's
// reply may quote the recipient), prefixed and without control characters.
func (s *smtpNotifier) scrub(to string, err error) error {
	m := err.Error()
	if s.password != "" {
		m = strings.ReplaceAll(m, s.password, "***")
	}
	for _, addr := range []string{to, s.from, s.user} {
		if addr != "" && strings.Contains(addr, "@") {
			m = strings.ReplaceAll(m, addr, hubsync.MaskEmail(addr))
		}
	}
	return fmt.Errorf("hubsync: emailing the notice via %s failed: %s", net.JoinHostPort(s.host, s.port), termSafe(m))
}

// message builds the email: plain text, quoted-printable, headers free of line breaks.
func (s *smtpNotifier) message(n notice) ([]byte, error) {
	oneLine := func(v string) string { return strings.Join(strings.Fields(v), " ") }
	var id [12]byte
	_, _ = rand.Read(id[:])
	domain := s.from[strings.LastIndexByte(s.from, '@')+1:]
	var b bytes.Buffer
	h := textproto.MIMEHeader{}
	h.Set("From", s.from)
	h.Set("To", n.To)
	h.Set("Subject", mime.QEncoding.Encode("utf-8", oneLine("hubsync: the HubSpot connection of school "+n.School+" was lost")))
	h.Set("Date", n.At.Format(time.RFC1123Z))
	h.Set("Message-Id", "<"+hex.EncodeToString(id[:])+"@"+domain+">")
	h.Set("Mime-Version", "1.0")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	for _, k := range []string{"From", "To", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type", "Content-Transfer-Encoding"} {
		fmt.Fprintf(&b, "%s: %s\r\n", k, oneLine(h.Get(k)))
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := fmt.Sprintf("The HubSpot connection of school %s was lost at %s.\r\n\r\nReason: %s\r\n\r\n%s\r\n\r\nUntil then nothing is sent to or read from HubSpot for this school.\r\n",
		oneLine(n.School), n.At.Format(time.RFC3339), oneLine(n.Reason), n.Action)
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// send delivers msg to one recipient: TLS as --smtp-tls says, AUTH PLAIN when a user is set
// (net/smtp refuses it over plain text except to localhost), bounded by s.timeout.
func (s *smtpNotifier) send(ctx context.Context, to string, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	addr := net.JoinHostPort(s.host, s.port)
	tc := &tls.Config{ServerName: s.host, RootCAs: s.roots, MinVersion: tls.VersionTLS12}
	var d net.Dialer
	var conn net.Conn
	var err error
	if s.mode == smtpTLSImplicit {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: tc}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if s.mode == smtpTLSAuto || s.mode == smtpTLSRequired {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tc); err != nil {
				return err
			}
		} else if s.mode == smtpTLSRequired {
			return errors.New("the server does not offer STARTTLS (--smtp-tls starttls-required)")
		}
	}
	if s.user != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("the server does not offer AUTH, but --smtp-user is set")
		}
		if err := c.Auth(smtp.PlainAuth("", s.user, s.password, s.host)); err != nil {
			return err
		}
	}
	if err := c.Mail(s.from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// webhookNotifier POSTs the notice as JSON, signed when a secret is set.
type webhookNotifier struct {
	url, secret string
	client      *http.Client
}

// signNotice is the X-Hubsync-Signature value for body sent at ts (Unix seconds).
func signNotice(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// ConnectionLost POSTs the notice; anything but a 2xx answer is an error naming the status.
func (n *webhookNotifier) ConnectionLost(ctx context.Context, school hubsync.SchoolID, to, reason string) error {
	note := newNotice(school, to, reason)
	body, err := json.Marshal(note)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return errors.New("hubsync: the notice webhook request could not be made")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hubsync")
	if n.secret != "" {
		ts := strconv.FormatInt(note.At.Unix(), 10)
		req.Header.Set("X-Hubsync-Timestamp", ts)
		req.Header.Set("X-Hubsync-Signature", signNotice(n.secret, ts, body))
	}
	resp, err := n.client.Do(req)
	if err != nil {
		// The URL may carry a token in its query: name only its host.
		host := ""
		if u, perr := url.Parse(n.url); perr == nil {
			host = u.Host
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("hubsync: posting the notice to %s failed: %w", host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("hubsync: the notice webhook answered %s", resp.Status)
	}
	return nil
}
