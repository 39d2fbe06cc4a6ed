package hubsync

import (
	"errors"
	"strings"
	"testing"
)

func TestJobSpecValidate(t *testing.T) {
	t.Parallel()
	good := JobSpec{School: "s", Kind: JobContact, Priority: PriorityBackfill}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		j    JobSpec
		want string
	}{
		"no school":    {JobSpec{Kind: JobContact}, "no school"},
		"no kind":      {JobSpec{School: "s"}, `school "s" has no kind`},
		"bad priority": {JobSpec{School: "s", Kind: JobEvent, Priority: 7}, "priority 7"},
	} {
		err := tc.j.Validate()
		if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	err := ValidateJobs([]JobSpec{good, {School: "s"}})
	if !errors.Is(err, ErrInvalidValue) || !strings.HasPrefix(err.Error(), "job 1 of 2: ") {
		t.Errorf("ValidateJobs = %v", err)
	}
}
