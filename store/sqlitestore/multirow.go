package sqlitestore

import (
	"context"
	"strings"
)

// This file holds how a batch of rows is written with multi-row statements: a batch is split
// into chunks of the sizes of multiRowChunks, largest first, and each chunk is one statement (a
// batch of 100 is 3: 64, 32, 4). The sizes are fixed so that each statement's text is one of a
// few, registered once, and the prepared-statement caches stay small.

// multiRowChunks are the chunk sizes, largest first. 64 rows of 8 columns are 512 bound
// parameters, under SQLite's smallest limit (999).
var multiRowChunks = []int{64, 32, 16, 8, 4, 2, 1}

// multiRowSQL registers, for each size of multiRowChunks, head followed by that many copies of
// row separated by sep; it returns their ids by size.
func multiRowSQL(head, row, sep string) map[int]sqlID { return multiRowSQLTail(head, row, sep, "") }

// multiRowSQLTail is multiRowSQL with tail after the rows of each statement.
func multiRowSQLTail(head, row, sep, tail string) map[int]sqlID {
	m := make(map[int]sqlID, len(multiRowChunks))
	for _, n := range multiRowChunks {
		m[n] = sqlText(head + row + strings.Repeat(sep+row, n-1) + tail)
	}
	return m
}

// chunkSize is the largest size of multiRowChunks at most n (n > 0).
func chunkSize(n int) int {
	for _, c := range multiRowChunks {
		if c <= n {
			return c
		}
	}
	return 1
}

// execChunks runs, through q, the statements of stmts (from multiRowSQL) over n rows: for each
// chunk [from, from+size) it calls bind to append the chunk's arguments to args, then runs the
// statement of that size.
func (x *executor) execChunks(ctx context.Context, q querier, stmts map[int]sqlID, n, perRow int,
	bind func(args []any, from, to int) []any) error {
	_, err := x.execChunksCount(ctx, q, stmts, n, perRow, bind)
	return err
}

// execChunksCount is execChunks, returning how many rows the statements changed.
func (x *executor) execChunksCount(ctx context.Context, q querier, stmts map[int]sqlID, n, perRow int,
	bind func(args []any, from, to int) []any) (int64, error) {
	args := make([]any, 0, perRow*min(n, multiRowChunks[0]))
	var changed int64
	for from := 0; from < n; {
		size := chunkSize(n - from)
		args = bind(args[:0], from, from+size)
		res, err := q.ExecContext(ctx, x.sql(stmts[size]), args...)
		if err != nil {
			return changed, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return changed, err
		}
		changed += k
		from += size
	}
	return changed, nil
}
