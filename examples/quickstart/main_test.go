package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestQuickstartRuns keeps the README's first command true: the whole demo runs to its summary.
func TestQuickstartRuns(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-learners", "250"}, &out); err != nil {
		t.Fatalf("quickstart failed: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"connected account: portal",
		"WARNING: 1 mapping row is invalid",
		"manual sync done: 250 learners, 250 contacts created, 0 failed",
		`lifecycle stage "lead"`,
		`lifecycle stage "customer"`,
		"signed_up       for n***@school.example: 1",
		"EMAIL to a***@school.example",
		"emails sent              1",
		"learner 1 of 3 (l***@school.example) changed country",
		"learner 3 of 3 (l***@school.example) changed country",
		"WARNING: 1 mapping row is invalid and will not sync until fixed. (when the settings were saved",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestQuickstartRejectsBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-learners", "0"},
		{"-hubspot-url", "https://api.hubapi.com"},
		{"-learnworlds-url", "https://school.example"},
		{"-no-such-flag"},
	} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
