package learnworlds

import (
	"context"
	"maps"
	"reflect"
	"sync/atomic"
)

// What PUT /v2/users/{id} does to a learner's "fields" object is not documented (the LearnWorlds
// contract notes, "Update user"; the spec's "PUT ... replaces" wording is generic): it may merge
// the keys sent into the stored ones, or replace the whole object with the one sent. A client
// that does not know must send the whole object (read, modify, write: two calls per write, and
// a field changed in the school between the read and the write is sent back with its older
// value). putSemantics finds out from the answers instead, per school, and from then on writes
// the cheap and safe way for what it found.
const (
	putUnknown  = iota // not found out yet: read, send the changes, check the answer
	putMerges          // the keys sent are merged: send only the changes, no read
	putReplaces        // the object sent replaces the stored one: read, send it whole
)

// putSemantics is one school's finding, shared by every writer of the adapter.
type putSemantics struct{ v atomic.Int32 }

// update writes req (with fields, the changed values) to learner id and returns the learner as
// stored:
//
//   - putMerges: one PUT with the changed fields only.
//   - putReplaces: a read, then one PUT of the read fields with the changes applied.
//   - putUnknown: a read, then a PUT of the changed fields only. If the answer holds every other
//     field of the read with its value, PUT merges. If it lacks one (absent or null), PUT
//     replaced the object: a second PUT restores the read fields with the changes applied, at
//     once. An answer without a fields object may have replaced it: the object is sent whole
//     again, and the next write looks again. A read with no other field, or an answer where one
//     holds another non-null value (changed in the school meanwhile), decides nothing.
func (p *putSemantics) update(ctx context.Context, c *Client, id string, req UpdateUserRequest, fields map[string]any) (User, error) {
	req.Fields = fields
	if len(fields) == 0 || p.v.Load() == putMerges {
		return c.UpdateUser(ctx, id, req)
	}
	cur, err := c.GetUser(ctx, id)
	if err != nil {
		return User{}, err
	}
	whole := merged(cur.Fields, fields)
	if p.v.Load() == putReplaces {
		req.Fields = whole
		return c.UpdateUser(ctx, cur.ID, req)
	}
	u, err := c.UpdateUser(ctx, cur.ID, req)
	if err != nil {
		return User{}, err
	}
	switch kept(cur.Fields, fields, u.Fields) {
	case keptAll:
		p.v.CompareAndSwap(putUnknown, putMerges)
		return u, nil
	case keptUnsure:
		return u, nil
	case keptLost:
		p.v.Store(putReplaces)
	}
	// keptLost or keptNoAnswer: restore what the write wiped, or may have.
	req.Email, req.Username = nil, nil // applied by the first PUT
	req.Fields = whole
	return c.UpdateUser(ctx, cur.ID, req)
}

// merged is the read fields (nil values dropped) with the changes applied.
func merged(read, changes map[string]any) map[string]any {
	out := make(map[string]any, len(read)+len(changes))
	for k, v := range read {
		if v != nil {
			out[k] = v
		}
	}
	maps.Copy(out, changes)
	return out
}

// What an answer says about the fields a write did not send.
const (
	keptAll      = iota // every one is there with its value: the PUT merged
	keptLost            // one is gone (absent, or null): the PUT replaced the object
	keptNoAnswer        // the answer has no fields object: it may have replaced it
	keptUnsure          // none to compare, or one holds another value (changed in the school
	// between the read and the write: a merge would show that too), so nothing is decided
)

// kept compares the fields read before a write of changes with those of the write's answer.
func kept(read, changes, answer map[string]any) int {
	others, differ := 0, false
	for k, v := range read {
		if _, sent := changes[k]; sent || v == nil {
			continue
		}
		others++
		if answer == nil {
			return keptNoAnswer
		}
		got, ok := answer[k]
		if !ok || got == nil {
			return keptLost
		}
		if !reflect.DeepEqual(got, v) {
			differ = true
		}
	}
	if others == 0 || differ {
		return keptUnsure
	}
	return keptAll
}
