package hubspot_test

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/oauth2"

	"github.com/hubsync/hubsync/hubspot"
)

type oauth2Token = oauth2.Token

func newOAuth2Token(access string) *oauth2.Token { return &oauth2.Token{AccessToken: access} }

var errCanceled = context.Canceled

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx, cancel
}

func asAPI(err error, target **hubspot.APIError) bool { return errors.As(err, target) }

func isRevoked(err error) bool { return errors.Is(err, hubspot.ErrConnectionRevoked) }
