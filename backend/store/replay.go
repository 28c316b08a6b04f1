package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/klauspost/compress/s2"
)

// EventBodies returns the stored lines of a job's events from seq from on,
// as consecutive chunks decompressed into one new buffer the caller owns:
// the chunk holding from (so the first lines may come before it: skip
// them by seq) and those after it, until about maxBytes of lines (at least
// one chunk). last is the seq of the last line returned (0: none stored
// from there). The read ends before EventBodies returns, so a caller that
// takes its time with the lines (a stream writing to a slow client) holds
// no read transaction meanwhile, and a log of any size is read in bounded
// memory by calling again from last+1.
func (s *Store) EventBodies(ctx context.Context, jobID string, from int64, maxBytes int) (body []byte, last int64, err error) {
	rows, err := s.r.QueryContext(ctx, `SELECT last_seq, codec, body FROM event_chunks
		WHERE job_id = ?1 AND last_seq >= ?2 AND first_seq >= coalesce(
			(SELECT max(first_seq) FROM event_chunks WHERE job_id = ?1 AND first_seq <= ?2), 0)
		ORDER BY first_seq LIMIT 1000`, jobID, from)
	if err != nil {
		return nil, 0, fmt.Errorf("read events of job %s: %w", jobID, err)
	}
	defer rows.Close()
	for rows.Next() && len(body) < maxBytes {
		var codec int
		var lastSeq int64
		var stored sql.RawBytes // valid until Next: decoded (or copied) right away
		if err := rows.Scan(&lastSeq, &codec, &stored); err != nil {
			return nil, 0, fmt.Errorf("read events of job %s: %w", jobID, err)
		}
		switch codec {
		case codecPlain:
			body = append(body, stored...)
		case codecS2:
			n, err := s2.DecodedLen(stored)
			if err != nil {
				return nil, 0, fmt.Errorf("job %s: decompress event chunk: %w", jobID, err)
			}
			if body == nil {
				body = make([]byte, 0, max(n, min(maxBytes, 1<<20)))
			}
			at := len(body)
			body = append(body, make([]byte, n)...)
			if _, err := s2.Decode(body[at:], stored); err != nil {
				return nil, 0, fmt.Errorf("job %s: decompress event chunk: %w", jobID, err)
			}
		default:
			return nil, 0, fmt.Errorf("job %s: unknown event chunk codec %d", jobID, codec)
		}
		if len(body) > 0 && body[len(body)-1] != '\n' {
			body = append(body, '\n')
		}
		last = lastSeq
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("read events of job %s: %w", jobID, err)
	}
	return body, last, nil
}
