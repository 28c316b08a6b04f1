package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"
	"github.com/klauspost/compress/s2"
)

// Reads and writes for the post-mortem history (backend/history): the event
// log as raw lines, and the checkpoints of its fold.

// EventLines calls fn with the stored JSON line of every event of a job
// with from <= seq <= to, in seq order, without decoding it: lines outside
// the range are skipped by their "seq" prefix, so a window inside a large
// chunk costs its decompression, not a JSON decode of the whole chunk. The
// line is valid only until fn returns (chunks are decompressed into one
// reused buffer); fn copies what it keeps. An error from fn stops the read
// and is returned as is.
func (s *Store) EventLines(ctx context.Context, jobID string, from, to int64, fn func(seq int64, line []byte) error) error {
	if to < from {
		return nil
	}
	// Start at the chunk holding from: chunks of a job cover consecutive,
	// non-overlapping seq ranges.
	rows, err := s.r.QueryContext(ctx, `SELECT codec, body FROM event_chunks
		WHERE job_id = ?1 AND first_seq <= ?3 AND first_seq >= coalesce(
			(SELECT max(first_seq) FROM event_chunks WHERE job_id = ?1 AND first_seq <= ?2), 0)
		ORDER BY first_seq`, jobID, from, to)
	if err != nil {
		return fmt.Errorf("read events of job %s: %w", jobID, err)
	}
	defer rows.Close()
	var buf []byte
	for rows.Next() {
		var codec int
		var stored sql.RawBytes // valid until Next: decoded (or copied) right away
		if err := rows.Scan(&codec, &stored); err != nil {
			return fmt.Errorf("read events of job %s: %w", jobID, err)
		}
		body, err := decodeChunkInto(buf, codec, stored)
		if err != nil {
			return fmt.Errorf("job %s: %w", jobID, err)
		}
		buf = body
		done, err := eachLine(body, from, to, fn)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read events of job %s: %w", jobID, err)
	}
	return nil
}

// decodeChunkInto decodes a stored chunk body into buf's storage.
func decodeChunkInto(buf []byte, codec int, stored []byte) ([]byte, error) {
	switch codec {
	case codecPlain:
		return append(buf[:0], stored...), nil
	case codecS2:
		n, err := s2.DecodedLen(stored)
		if err != nil {
			return nil, fmt.Errorf("decompress event chunk: %w", err)
		}
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		body, err := s2.Decode(buf[:cap(buf)], stored)
		if err != nil {
			return nil, fmt.Errorf("decompress event chunk: %w", err)
		}
		return body, nil
	default:
		return nil, fmt.Errorf("unknown event chunk codec %d", codec)
	}
}

// eachLine hands fn the lines of one chunk body in [from, to]; done reports
// that a line past to was seen, so later chunks need not be read.
func eachLine(body []byte, from, to int64, fn func(int64, []byte) error) (done bool, err error) {
	for len(body) > 0 {
		n := bytes.IndexByte(body, '\n')
		if n < 0 {
			n = len(body)
		}
		line := body[:n:n]
		body = body[min(n+1, len(body)):]
		if len(line) == 0 {
			continue
		}
		seq, ok := lineSeq(line)
		if !ok {
			return true, fmt.Errorf("event line without a leading seq: %.60q", line)
		}
		if seq < from {
			continue
		}
		if seq > to {
			return true, nil
		}
		if err := fn(seq, line); err != nil {
			return true, err
		}
	}
	return false, nil
}

// lineSeq reads the seq of a stored line: Event.AppendStored always writes
// it first, as {"seq":N,….
func lineSeq(line []byte) (int64, bool) {
	const prefix = `{"seq":`
	if !bytes.HasPrefix(line, []byte(prefix)) {
		return 0, false
	}
	rest := line[len(prefix):]
	end := bytes.IndexByte(rest, ',')
	if end < 0 {
		end = bytes.IndexByte(rest, '}')
	}
	if end <= 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(rest[:end]), 10, 64)
	return n, err == nil
}

// LastEventSeq is the seq of a job's latest stored event (0 if none).
func (s *Store) LastEventSeq(ctx context.Context, jobID string) (int64, error) {
	var last sql.NullInt64
	if err := s.r.GetContext(ctx, &last, `SELECT max(last_seq) FROM event_chunks WHERE job_id = ?`, jobID); err != nil {
		return 0, fmt.Errorf("last event of job %s: %w", jobID, err)
	}
	return last.Int64, nil
}

// Checkpoint is one stored state of a job's history fold.
type Checkpoint struct {
	Seq  int64
	Body []byte // JSON, as the history package encodes it
}

// SaveCheckpoints replaces a job's stored checkpoints with cps, all of
// encoding version format, in one transaction.
func (s *Store) SaveCheckpoints(ctx context.Context, jobID string, format int, cps []Checkpoint) error {
	err := s.tx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM history_checkpoints WHERE job_id = ?`, jobID); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO history_checkpoints (job_id, seq, format, codec, body) VALUES (?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		var packed []byte
		for _, cp := range cps {
			if need := s2.MaxEncodedLen(len(cp.Body)); cap(packed) < need {
				packed = make([]byte, need)
			}
			codec, body := encodeChunk(packed[:cap(packed)], cp.Body)
			if _, err := stmt.ExecContext(ctx, jobID, cp.Seq, format, codec, body); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save history checkpoints of job %s: %w", jobID, err)
	}
	return nil
}

// LoadCheckpoint returns a job's stored checkpoint of encoding version
// format with the greatest seq <= at; ok is false if there is none.
func (s *Store) LoadCheckpoint(ctx context.Context, jobID string, format int, at int64) (cp Checkpoint, ok bool, err error) {
	var row struct {
		Seq   int64  `db:"seq"`
		Codec int    `db:"codec"`
		Body  []byte `db:"body"`
	}
	err = s.r.GetContext(ctx, &row, `SELECT seq, codec, body FROM history_checkpoints
		WHERE job_id = ? AND format = ? AND seq <= ? ORDER BY seq DESC LIMIT 1`, jobID, format, at)
	if errors.Is(err, sql.ErrNoRows) {
		return Checkpoint{}, false, nil
	}
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("load history checkpoint of job %s: %w", jobID, err)
	}
	body, err := decodeChunk(row.Codec, row.Body)
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("history checkpoint of job %s at %d: %w", jobID, row.Seq, err)
	}
	return Checkpoint{Seq: row.Seq, Body: body}, true, nil
}
