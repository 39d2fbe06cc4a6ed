package hubsync

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"time"
)

// The sent maps of a SyncState (SentToHubSpot, SentToLMS) record, per property or field, what the
// engine last wrote, and the engine only ever asks of a recorded value whether it equals another
// one: diffing (an unchanged value is not sent again), the blank rule (a blank clears only a
// value the engine wrote) and the two-way conflict rule (did HubSpot, or the LMS, change since
// the engine's write?). So a map need not hold the values themselves: from format 1 on, it holds
// each value's sent form (sentForm), and the key sentFormatKey says so.
//
// A map without that key is one written before (format 0): its values are the values, and sentIs
// compares them as such, so a state stored by an older hubsync keeps every guarantee. The first
// value recorded in it converts the whole map to format 1.
const (
	// sentFormatKey is the key marking a format-1 map. No HubSpot property name (lower-case
	// letters, digits, underscores) and no LMS field key can be "~".
	sentFormatKey = "~"
	sentFormatV1  = "1"
	// sentShortMax is the length of the longest value kept verbatim: a fingerprint is
	// sentShortMax+1 characters long, so a verbatim value is never taken for one.
	sentShortMax = 11
)

// sentForm is what a format-1 map records for v: v itself when it is at most sentShortMax bytes
// long (no longer than its fingerprint), otherwise its fingerprint, the first 72 bits of its
// SHA-256 in unpadded base64url (12 characters). Two different long values have the same
// fingerprint with probability 2^-72 (SHA-256 taken as uniform): a value changed to one of
// the same fingerprint is taken as unchanged, so about once in 4.7 * 10^21 changes of a long
// value the change is not sent. The form is stored: it must never change for format 1.
func sentForm(v string) string {
	if len(v) <= sentShortMax {
		return v
	}
	h := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(h[:9])
}

// sentIs reports whether sent records the value v for key (false when key is not recorded).
func sentIs(sent map[string]string, key, v string) bool {
	got, ok := sent[key]
	if !ok {
		return false
	}
	if sent[sentFormatKey] == sentFormatV1 {
		return got == sentForm(v)
	}
	return got == v // format 0: the value itself
}

// recordSent records in sent that the engine wrote v for key, converting a format-0 map to
// format 1 first, and returns the map (a new one when sent is nil).
func recordSent(sent map[string]string, key, v string) map[string]string {
	if sent == nil {
		sent = map[string]string{}
	}
	if sent[sentFormatKey] != sentFormatV1 {
		for k, old := range sent {
			sent[k] = sentForm(old)
		}
		sent[sentFormatKey] = sentFormatV1
	}
	sent[key] = sentForm(v)
	return sent
}

// sentAtKey records, in SentToHubSpot, when the copy of the learner last written to HubSpot was
// read (see pending.at): microseconds since 1970 in the engine's clock, base 36 (10 characters,
// so kept verbatim). No HubSpot property name can be "@".
const sentAtKey = "@"

// sentAt is the read time st records (zero when none).
func sentAt(st SyncState) time.Time {
	v, ok := st.SentToHubSpot[sentAtKey]
	if !ok {
		return time.Time{}
	}
	us, err := strconv.ParseInt(v, 36, 64)
	if err != nil || us <= 0 {
		return time.Time{} // not one hubsync wrote: taken as unknown, so nothing is held back
	}
	return time.UnixMicro(us)
}

// olderThanSent reports whether a learner read at at is older than the copy st says was last
// written to HubSpot (false when either time is not known).
func olderThanSent(st SyncState, at time.Time) bool {
	last := sentAt(st)
	return !at.IsZero() && !last.IsZero() && at.Before(last)
}

// recordSentAt records in sent that a copy read at at was written, unless it records a later
// one; a zero at changes nothing. It returns the map (a new one when sent is nil).
func recordSentAt(sent map[string]string, at time.Time) map[string]string {
	if at.IsZero() || at.UnixMicro() <= 0 {
		return sent
	}
	if last := sentAt(SyncState{SentToHubSpot: sent}); !last.IsZero() && !at.After(last) {
		return sent
	}
	if sent == nil {
		sent = map[string]string{}
	}
	sent[sentAtKey] = strconv.FormatInt(at.UnixMicro(), 36)
	return sent
}
