package learnworlds

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// tokenResponse is the token endpoint's answer:
// {"tokenData":{"access_token":"...","token_type":"Bearer","expires_in":8000},"errors":[],"success":true}.
type tokenResponse struct {
	TokenData struct {
		AccessToken string  `json:"access_token"`
		TokenType   string  `json:"token_type"`
		ExpiresIn   float64 `json:"expires_in"`
	} `json:"tokenData"`
	Success *bool `json:"success"`
}

// token returns the access token to send: the static one, or a cached minted one that is still
// valid for DefaultTokenLeeway, minting a new one when needed. Concurrent callers share one mint.
func (c *Client) token(ctx context.Context) (string, error) {
	if c.static != "" {
		return c.static, nil
	}
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	if c.tok != "" && c.clk.Now().Before(c.tokExp) {
		return c.tok, nil
	}
	return c.mintLocked(ctx)
}

// invalidate drops the cached token if it is still old, so that the next call mints a new one. It
// reports whether a new token can be had (false for a static token).
func (c *Client) invalidate(old string) bool {
	if c.static != "" {
		return false
	}
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	if c.tok == old {
		c.tok = ""
	}
	return true
}

// mintLocked calls the token endpoint with the client-credentials grant exactly as the API wants it:
// POST {school}/admin/api/oauth2/access_token, form field "data" holding the JSON credentials, and
// the Lw-Client header. See https://www.learnworlds.dev/docs/api (Authentication).
func (c *Client) mintLocked(ctx context.Context) (string, error) {
	creds, err := json.Marshal(map[string]string{
		"client_id": c.clientID, "client_secret": c.secret, "grant_type": "client_credentials",
	})
	if err != nil {
		return "", fmt.Errorf("learnworlds: encode token request: %w", err)
	}
	form := url.Values{"data": {string(creds)}}.Encode()
	const path = "/oauth2/access_token"
	var last error
	for attempt := 0; ; attempt++ {
		slot, err := c.lim.Acquire(ctx) // the token request counts against the school's limit too
		if err != nil {
			return "", err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+path, strings.NewReader(form))
		if err != nil {
			slot.Cancel()
			return "", fmt.Errorf("learnworlds: token request: %w", err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Lw-Client", c.clientID)
		resp, err := c.hc.Do(req)
		slot.Done(-1)
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", fmt.Errorf("learnworlds: token request: %w", &unreachableError{scrubURLError(err)})
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", fmt.Errorf("learnworlds: token response: %w", &unreachableError{err})
		}
		apiErr := parseError(resp, body, http.MethodPost, path, c.clk.Now())
		if apiErr == nil {
			var tr tokenResponse
			if err := json.Unmarshal(body, &tr); err != nil {
				return "", fmt.Errorf("learnworlds: token response is not the documented JSON: %w", err)
			}
			if tr.TokenData.AccessToken == "" {
				return "", fmt.Errorf("learnworlds: token response has no tokenData.access_token")
			}
			life := time.Duration(tr.TokenData.ExpiresIn * float64(time.Second))
			// expires_in is documented only by an example (8000 s): a missing or tiny value keeps the
			// token for at most a minute rather than never caching it or caching it forever.
			if life <= DefaultTokenLeeway {
				life = 2 * DefaultTokenLeeway
			}
			c.tok = tr.TokenData.AccessToken
			c.tokExp = c.clk.Now().Add(life - DefaultTokenLeeway)
			c.log.DebugContext(ctx, "learnworlds: minted access token", "expires_in", tr.TokenData.ExpiresIn)
			return c.tok, nil
		}
		last = apiErr
		if !apiErr.Temporary() || attempt >= c.maxRetries || !c.waits(apiErr) {
			c.windowIfLimited(apiErr)
			return "", fmt.Errorf("learnworlds: mint token: %w", last)
		}
		if err := c.backoff(ctx, attempt, apiErr); err != nil {
			return "", err
		}
	}
}
