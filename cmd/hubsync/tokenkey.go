package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/seal"
)

// tokenKeyFlags registers the flags that give the key the store seals tokens with.
func (a *app) tokenKeyFlags(fs *flag.FlagSet) {
	c := &a.cfg
	a.str(fs, &c.tokenKey, "token-key", "HUBSYNC_TOKEN_KEY", "", "the key HubSpot tokens are sealed with in the store: ID:KEY, KEY 32 bytes in base64 or hex (\"openssl rand -base64 32\"); prefer the environment variable or --token-key-file to a flag")
	a.str(fs, &c.tokenKeyFile, "token-key-file", "HUBSYNC_TOKEN_KEY_FILE", "", "a file of keys, one ID:KEY a line: the first seals, the others only open (instead of --token-key)")
	a.str(fs, &c.tokenKeysOld, "token-keys-old", "HUBSYNC_TOKEN_KEYS_OLD", "", "old keys that still open tokens sealed before a rotation, ID:KEY,ID:KEY (see \"hubsync reseal\")")
}

// keyring returns the keyring the token-key flags give, or nil when none is set.
func (a *app) keyring() (*seal.Keyring, error) {
	c := a.cfg
	if c.tokenKey != "" && c.tokenKeyFile != "" {
		return nil, &usageError{msg: "give --token-key or --token-key-file, not both"}
	}
	var keys []seal.Key
	switch {
	case c.tokenKey != "":
		k, err := seal.ParseKey(c.tokenKey)
		if err != nil {
			return nil, &usageError{msg: "--token-key: " + err.Error()}
		}
		keys = append(keys, k)
	case c.tokenKeyFile != "":
		name := filepath.Base(c.tokenKeyFile)
		body, err := os.ReadFile(c.tokenKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--token-key-file: %w", err)
		}
		if st, err := os.Stat(c.tokenKeyFile); err == nil && st.Mode().Perm()&0o077 != 0 {
			fmt.Fprintf(a.stderr, "hubsync: warning: the key file %s is readable by others (mode %v); chmod 600 it\n", name, st.Mode().Perm())
		}
		if keys, err = seal.ParseKeys(string(body)); err != nil {
			return nil, &usageError{msg: "--token-key-file " + name + ": " + err.Error()}
		}
	case c.tokenKeysOld != "":
		return nil, &usageError{msg: "--token-keys-old needs a current key (--token-key or --token-key-file)"}
	default:
		return nil, nil
	}
	for i, s := range strings.Split(c.tokenKeysOld, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		k, err := seal.ParseKey(s)
		if err != nil {
			return nil, &usageError{msg: fmt.Sprintf("--token-keys-old, key %d: %s", i+1, err)}
		}
		keys = append(keys, k)
	}
	kr, err := seal.New(keys[0], keys[1:]...)
	if err != nil {
		return nil, &usageError{msg: err.Error()}
	}
	return kr, nil
}

// sealer returns the Sealer the store is opened with: the keyring, or nil (tokens stored plain)
// after a warning, printed once per invocation, when no key is set.
func (a *app) sealer() (hubsync.Sealer, error) {
	if a.sealWith != nil {
		return a.sealWith, nil
	}
	kr, err := a.keyring()
	if err != nil || kr != nil {
		return kr, err
	}
	a.warnNoKey.Do(func() {
		fmt.Fprintln(a.stderr, "hubsync: warning: no token key (--token-key, --token-key-file or HUBSYNC_TOKEN_KEY): HubSpot tokens are stored unencrypted; see docs/security.md")
	})
	return nil, nil
}
