package learnworlds_test

import (
	"net/http"
	"os"
	"testing"

	"github.com/hubsync/hubsync/internal/apispec"
)

// specEnv names the directory holding the official LearnWorlds OpenAPI documents. When it is set,
// every request the client sends to the fake and every answer of the fake is validated against them
// (OpenAPI 3.1), and a mismatch fails the test that made the call.
const specEnv = "HUBSYNC_LEARNWORLDS_SPECS"

func init() {
	specTransport = func(t testing.TB, base http.RoundTripper) http.RoundTripper {
		specs := apispec.FromEnv(t, specEnv)
		if specs == nil {
			return base
		}
		specs.Allow("POST", "/admin/api/oauth2/access_token",
			"the token endpoint is documented on the Authentication page, not in the OpenAPI documents")
		return specs.Transport(t, base)
	}
}

// TestSpecValidationIsOn says, in the test log, whether the suite's traffic is being validated.
func TestSpecValidationIsOn(t *testing.T) {
	t.Parallel()
	if os.Getenv(specEnv) == "" {
		t.Skipf("%s is not set: client and fake traffic is not validated against the LearnWorlds OpenAPI documents", specEnv)
	}
	if apispec.FromEnv(t, specEnv) == nil {
		t.Fatal("documents not loaded")
	}
}
