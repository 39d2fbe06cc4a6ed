package sqlitestore

import (
	"context"
	"fmt"
)

// Vacuum rewrites the database file without its free space and empties its write-ahead log
// (VACUUM, then a TRUNCATE checkpoint), so content that was deleted or overwritten (plain tokens
// after hubsync.ResealConnections sealed them) no longer sits in the store's files. It waits for
// the writer like any write; it fails, saying so, when another connection (another process)
// still reads an old snapshot and the log could not be emptied: run it again then. It cannot run
// inside RunInTx or on a Store from WithTx. On a store from New it vacuums the host's whole
// database file, the host's tables with the store's, on a connection of the host's pool.
func (s *Store) Vacuum(ctx context.Context) error {
	if s.tx != nil {
		return fmt.Errorf("sqlitestore: vacuum called inside a transaction")
	}
	select {
	case s.w.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("sqlitestore: vacuum: waiting for the writer: %w", ctx.Err())
	}
	defer func() { <-s.w.sem }()
	conn := s.w.conn
	if conn == nil {
		c, err := s.w.db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("sqlitestore: vacuum: taking a connection of the host's pool: %w", err)
		}
		defer c.Close()
		conn = c
	}
	if _, err := conn.ExecContext(ctx, "VACUUM"); err != nil {
		return interpretError("vacuum", err)
	}
	var busy, logFrames, done int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil {
		return interpretError("vacuum: checkpoint", err)
	}
	if busy != 0 {
		return fmt.Errorf("sqlitestore: vacuum: another connection still reads the write-ahead log (%d of %d frames checkpointed); run it again when that reader is done", done, logFrames)
	}
	return nil
}
