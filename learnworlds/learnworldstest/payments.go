package learnworldstest

import (
	"fmt"
	"net/http"
	"strconv"
)

// Payment is a payment the fake records for Purchase.
type Payment struct {
	ID          string
	UserID      string
	ProductID   string
	ProductType string // course, bundle, subscription
	ProductName string
	Price       float64
	PaidAt      float64
	Created     float64
}

func (p Payment) json() map[string]any {
	return map[string]any{
		"id": p.ID, "transaction_id": "Added by admin", "type": "one-off",
		"product": map[string]any{"id": p.ProductID, "type": p.ProductType, "name": p.ProductName,
			"description": nil, "image": nil, "trial_days": 0, "original_price": p.Price, "discount_price": 0, "final_price": p.Price},
		"price": p.Price, "discount": 0, "refund_at": nil, "user_id": p.UserID, "paid_at": p.PaidAt,
		"invoice": nil, "billing_info": map[string]any{}, "coupon": nil, "instructors": []any{},
		"instructors_total_percentage": nil, "tax_amount": 0, "tax_percentage": 0,
		"period": nil, "payment_plan_current_payment": nil, "payment_plan_total_payments": nil,
		"gateway": "stripe", "created": p.Created,
	}
}

func (s *Server) paymentsLocked(idOrEmail string) []Payment {
	var uid string
	if idOrEmail != "" {
		u := s.lookupLocked(idOrEmail)
		if u == nil {
			return nil
		}
		uid = u.ID
	}
	var out []Payment
	for i := len(s.payments) - 1; i >= 0; i-- {
		if uid == "" || s.payments[i].UserID == uid {
			out = append(out, s.payments[i])
		}
	}
	return out
}

// addPaymentLocked records a payment of u now.
func (s *Server) addPaymentLocked(u *User, p Payment) Payment {
	s.seq++
	p.ID = fmt.Sprintf("6a%022x", s.seq)
	p.UserID = u.ID
	now := s.stamp()
	p.Created, p.PaidAt = now, now
	if p.ProductType == "" {
		p.ProductType = "course"
	}
	s.payments = append(s.payments, p)
	return p
}

// handlePayments serves GET /v2/payments (user_id filter by id or email, newest first, 50 a page).
func (s *Server) handlePayments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	per, page := 50, 1
	if v := q.Get("items_per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "items_per_page must be an integer between 1 and 200"})
			return
		}
		per = n
	}
	if v := q.Get("page"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			page = max(n, 1)
		}
	}
	s.mu.Lock()
	var list []Payment
	if uid := q.Get("user_id"); uid != "" {
		list = s.paymentsLocked(uid)
	} else {
		list = s.paymentsLocked("")
	}
	s.mu.Unlock()
	pages := max(1, (len(list)+per-1)/per)
	page = min(page, pages)
	lo := min((page-1)*per, len(list))
	hi := min(lo+per, len(list))
	data := make([]any, 0, hi-lo)
	for _, p := range list[lo:hi] {
		data = append(data, p.json())
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data": data, "meta": map[string]any{"page": page, "totalItems": len(list), "totalPages": pages, "itemsPerPage": per},
	})
}
