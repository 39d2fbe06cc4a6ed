// Package seal keeps secrets unreadable at rest: its [Keyring] is the standard hubsync.Sealer,
// which the stores (sqlitestore.WithSealer, pgstore.WithSealer, hubsynctest.WithMemSealer) use to
// seal every school's HubSpot access and refresh tokens before they are written.
//
// A Keyring seals with AES-256-GCM (Go's standard library, no other dependency) under its
// current [Key], with a random 96-bit nonce, in a versioned envelope that carries the key's id;
// it opens with any of its keys. The associated data the stores pass names the school and the
// token's field, so a sealed token copied into another school's row does not open.
//
// Keys are 32 random bytes with an id. [ParseKey] reads one as an operator writes it ("ID:KEY",
// KEY in hex or base64), [ParseKeys] a key file (one key a line, the current one first):
//
//	keys, err := seal.ParseKeys(os.Getenv("TOKEN_KEYS"))
//	...
//	kr, err := seal.New(keys[0], keys[1:]...)
//	...
//	db, err := sqlitestore.Open(ctx, "hubsync.db", sqlitestore.WithSealer(kr))
//
// Rotation: make a new key the current one and keep the old ones in the keyring; tokens sealed
// under an old key still open, every write seals under the new key, and hubsync.ResealConnections
// (the "hubsync reseal" command) rewrites every connection at once, after which the old keys can
// go. Errors name key ids, never key bytes, and [Key] prints as its id only.
package seal
