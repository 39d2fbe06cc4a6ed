package learnworlds

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/hubsync/hubsync"
)

// Payment is one payment (GET /v2/payments, and the productBought/paymentCreated webhooks).
type Payment struct {
	ID            string  `json:"id"`
	TransactionID string  `json:"transaction_id"`
	Type          string  `json:"type"`
	Product       Product `json:"product"`
	Price         float64 `json:"price"`
	UserID        string  `json:"user_id"`
	// PaidAt, RefundAt and Created are Unix seconds; 0 when null.
	PaidAt   float64 `json:"paid_at"`
	RefundAt float64 `json:"refund_at"`
	Created  float64 `json:"created"`
	Gateway  string  `json:"gateway"`
	Invoice  string  `json:"invoice"`
}

// When returns the payment's time: PaidAt, or Created when it was never marked paid.
func (p Payment) When() float64 {
	if p.PaidAt != 0 {
		return p.PaidAt
	}
	return p.Created
}

// Product is a course, bundle or subscription as payments and webhooks name it.
type Product struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Name  string `json:"name,omitempty"`
	Title string `json:"title,omitempty"`
}

type paymentsPage struct {
	Data []Payment `json:"data"`
	Meta Meta      `json:"meta"`
}

// LatestPayment returns the newest payment of a user (id or email): the payments list is newest
// first, so one call with items_per_page=1. Errors: an error wrapping hubsync.ErrNotFound when the
// user has no payment; *APIError.
//
// API: GET /v2/payments?user_id=... (operationId get-transactions), reference at https://www.learnworlds.dev/docs/api
func (c *Client) LatestPayment(ctx context.Context, userIDOrEmail string) (Payment, error) {
	if strings.TrimSpace(userIDOrEmail) == "" {
		return Payment{}, fmt.Errorf("learnworlds: LatestPayment: user id is empty")
	}
	q := url.Values{"user_id": {userIDOrEmail}, "items_per_page": {"1"}, "page": {"1"}}
	var p paymentsPage
	if err := c.do(ctx, call{method: http.MethodGet, path: "/v2/payments", query: q, idempotent: true}, &p); err != nil {
		return Payment{}, err
	}
	if len(p.Data) == 0 {
		return Payment{}, fmt.Errorf("learnworlds: user %s has no payment: %w", maskID(userIDOrEmail), hubsync.ErrNotFound)
	}
	return p.Data[0], nil
}

// maskID masks s when it is an email address and returns it unchanged otherwise (an id).
func maskID(s string) string {
	if strings.Contains(s, "@") {
		return MaskEmail(s)
	}
	return s
}
