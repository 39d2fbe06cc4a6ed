package learnworlds

import (
	"testing"
	"time"
)

func TestRegistered(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		created time.Time
		want    bool
	}{
		{"created just now", now, true},
		{"created a second ago", now.Add(-time.Second), true},
		{"redelivered within the window", now.Add(-RegistrationWindow + time.Minute), true},
		{"at the window's edge", now.Add(-RegistrationWindow), true},
		{"created before the window", now.Add(-RegistrationWindow - time.Second), false},
		{"created years ago", now.AddDate(-3, 0, 0), false},
		{"created ahead of our clock", now.Add(time.Minute), true},
		{"creation time unknown", time.Time{}, false},
	}
	for _, tt := range tests {
		if got := registered(tt.created, now); got != tt.want {
			t.Errorf("%s: registered(%v, %v) = %v, want %v", tt.name, tt.created, now, got, tt.want)
		}
	}
}
