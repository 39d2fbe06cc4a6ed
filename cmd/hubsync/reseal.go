package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/seal"
)

// runReseal seals every school's tokens (and its LearnWorlds connection's secrets) again with
// the current key: plain ones (written without
// a key) and ones sealed under an old key (which must be given with --token-keys-old or in the
// key file). For a SQLite store it then vacuums the file, so the old forms leave it.
func runReseal(ctx context.Context, a *app, args []string) error {
	fs := a.flags("--token-key K | --token-key-file F [--token-keys-old K,K]")
	if err := a.parse(fs, args, quiet); err != nil {
		return err
	}
	kr, err := a.keyring()
	if err != nil {
		return err
	}
	if kr == nil {
		return &usageError{msg: "reseal needs the key to seal with: --token-key, --token-key-file or HUBSYNC_TOKEN_KEY"}
	}
	counter := &openCounter{Keyring: kr, byKey: map[string]int{}}
	a.sealWith = counter
	st, closeStore, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	rep, err := hubsync.ResealConnections(ctx, st)
	plain := rep.Tokens + rep.Secrets - counter.total()
	lms := ""
	if rep.LMSConnections > 0 {
		lms = fmt.Sprintf(" and %d LearnWorlds connection(s) (%d secret(s))", rep.LMSConnections, rep.Secrets)
	}
	fmt.Fprintf(a.stdout, "resealed %d connection(s)%s of %d school(s) under key %s: %d token(s), %d of them were plain%s\n",
		rep.Connections, lms, rep.Schools, kr.CurrentID(), rep.Tokens+rep.Secrets, plain, counter.summary())
	if err != nil {
		return fmt.Errorf("%d school(s) could not be resealed (the others were): %w", rep.Failed, err)
	}
	if v, ok := st.(interface{ Vacuum(context.Context) error }); ok {
		if err := v.Vacuum(ctx); err != nil {
			return err
		}
		fmt.Fprintln(a.stdout, "vacuumed the SQLite file: the tokens' old forms are gone from it")
	}
	return nil
}

// openCounter is the keyring, counting the tokens it opens by the key they were sealed with.
type openCounter struct {
	*seal.Keyring
	mu    sync.Mutex
	byKey map[string]int
}

func (c *openCounter) Open(ctx context.Context, sealed, aad []byte) ([]byte, error) {
	b, err := c.Keyring.Open(ctx, sealed, aad)
	if err == nil {
		id, _ := seal.KeyID(sealed)
		c.mu.Lock()
		c.byKey[id]++
		c.mu.Unlock()
	}
	return b, err
}

func (c *openCounter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.byKey {
		n += v
	}
	return n
}

// summary is ", N under key ID, ..." for each key tokens were opened with, sorted by id.
func (c *openCounter) summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]string, 0, len(c.byKey))
	for id := range c.byKey {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, ", %d under key %s", c.byKey[id], id)
	}
	return b.String()
}
