package hubspot

import (
	"regexp"
	"strings"
)

var emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+\-']+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)

// MaskEmail returns email with its local part hidden after the first character
// ("jane@example.com" becomes "j***@example.com"), for logs and error messages. A string without
// an "@" is masked whole.
func MaskEmail(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at <= 0 {
		if email == "" {
			return ""
		}
		return "***"
	}
	return email[:1] + "***" + email[at:]
}

// MaskEmails masks every email address inside s with [MaskEmail].
func MaskEmails(s string) string {
	return emailPattern.ReplaceAllStringFunc(s, MaskEmail)
}
