package learnworlds

import (
	"regexp"
	"strings"
)

var emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+\-']+(@|%40)[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)

// MaskEmail hides an address's local part after its first character ("jane@example.com" becomes
// "j***@example.com"), for logs and error messages. A string without "@" is masked whole.
func MaskEmail(email string) string {
	at := strings.LastIndexByte(email, '@')
	sep := "@"
	if at <= 0 {
		if i := strings.LastIndex(email, "%40"); i > 0 {
			at, sep = i, "%40"
		}
	}
	if at <= 0 {
		if email == "" {
			return ""
		}
		return "***"
	}
	return email[:1] + "***" + "@" + email[at+len(sep):]
}

// maskEmails masks every email address (plain or URL-encoded) inside s.
func maskEmails(s string) string {
	return emailPattern.ReplaceAllStringFunc(s, MaskEmail)
}
