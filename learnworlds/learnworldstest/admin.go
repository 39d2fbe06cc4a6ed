package learnworldstest

import (
	"fmt"
	"strings"
)

// AddUser stores a learner directly (no request, no webhook) and returns it with its id and
// creation time. It returns an error when the email or username is empty or taken.
func (s *Server) AddUser(u User) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addLocked(u)
}

func (s *Server) addLocked(u User) (User, error) {
	if u.Email == "" {
		return User{}, fmt.Errorf("learnworldstest: AddUser: email is empty")
	}
	if u.Username == "" {
		u.Username = strings.SplitN(u.Email, "@", 2)[0]
	}
	if s.byEmail[strings.ToLower(u.Email)] != nil {
		return User{}, fmt.Errorf("learnworldstest: AddUser: email %q is taken", u.Email)
	}
	if s.byUsername[strings.ToLower(u.Username)] != nil {
		return User{}, fmt.Errorf("learnworldstest: AddUser: username %q is taken", u.Username)
	}
	if u.ID != "" && s.byID[u.ID] != nil {
		return User{}, fmt.Errorf("learnworldstest: AddUser: id %q is taken", u.ID)
	}
	c := u.clone()
	s.insertLocked(&c)
	return c.clone(), nil
}

// Seed adds n learners fast (no request, no webhook): learner i has email "learner<i>@example.com"
// and username "learner<i>" before fn (when not nil) adjusts it. It returns the first error.
func (s *Server) Seed(n int, fn func(i int, u *User)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range n {
		u := User{Email: fmt.Sprintf("learner%d@example.com", i), Username: fmt.Sprintf("learner%d", i)}
		if fn != nil {
			fn(i, &u)
		}
		if _, err := s.addLocked(u); err != nil {
			return err
		}
	}
	return nil
}

// User returns a copy of the learner with this id or email (case-insensitive).
func (s *Server) User(idOrEmail string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.lookupLocked(idOrEmail)
	if u == nil {
		return User{}, false
	}
	return u.clone(), true
}

// Users returns copies of every learner, oldest first.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, len(s.users))
	for i, u := range s.users {
		out[i] = u.clone()
	}
	return out
}

// Len returns the number of learners.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users)
}

// Payments returns the payments of a learner (id or email), newest first; all payments for "".
func (s *Server) Payments(idOrEmail string) []Payment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paymentsLocked(idOrEmail)
}
