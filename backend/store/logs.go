package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/switchyard/switchyard/backend/events"
)

// Log levels, in order; a query's level is a minimum.
var levels = []string{"debug", "info", "warning", "error"}

// LevelRank returns the rank of a level name, or -1 if it is not one.
// "warn" is accepted for "warning".
func LevelRank(level string) int {
	if level == "warn" {
		level = "warning"
	}
	for i, l := range levels {
		if l == level {
			return i
		}
	}
	return -1
}

// LogLine is one stored log line of a job.
type LogLine struct {
	Seq       int64     `json:"seq"`
	Time      time.Time `json:"time"`
	Level     string    `json:"level"`
	RoutineID string    `json:"routine_id"`
	Message   string    `json:"message"`
}

type logLine struct {
	jobID string
	LogLine
}

// logLineOf derives the log line an event stands for and that is stored,
// if any: explicit log events, and the lifecycle of the job and its
// failures. A job's start and its completion are not stored: every job
// has them, and derivedLines rebuilds them from its record.
func logLineOf(ev *events.Event) (logLine, bool) {
	l := logLine{jobID: ev.JobID, LogLine: LogLine{Seq: ev.Seq, Time: ev.Time, Level: "info", RoutineID: ev.RoutineID}}
	switch ev.Type {
	case events.Log:
		l.Level, l.Message = ev.Level, ev.Message
	case events.JobStarted, events.JobCompleted:
		return l, false // derivedLines
	case events.JobPaused:
		l.Message = "job paused"
	case events.JobResumed:
		l.Message = "job resumed"
	case events.JobCancelled:
		l.Level, l.Message = "warning", "job cancelled"
	case events.JobFailed:
		l.Level, l.Message = "error", "job failed: "+ev.Error
	case events.RoutineFailed:
		if ev.Status != "retrying" {
			return l, false // the engine logs the final failure itself
		}
		l.Level, l.Message = "warning", fmt.Sprintf("routine %q attempt %d failed, retrying: %s", ev.RoutineID, ev.Attempt, ev.Error)
	default:
		return l, false
	}
	return l, true
}

const insertLogSQL = `INSERT INTO logs (job_id, seq, time, level, routine_id, message) VALUES (?,?,?,?,?,?)`

func insertLogs(stmt *sqlx.Stmt, logs []logLine) error {
	for _, l := range logs {
		if _, err := stmt.Exec(l.jobID, l.Seq, nanos(l.Time), max(LevelRank(l.Level), 0), l.RoutineID, l.Message); err != nil {
			return fmt.Errorf("insert log line of job %s: %w", l.jobID, err)
		}
	}
	return nil
}

// LogFilter selects log lines of a job.
type LogFilter struct {
	MinLevel  int // rank, see LevelRank
	RoutineID string
	Query     string // case-insensitive substring of the message
	Limit     int
	Offset    int
}

// Logs returns a job's log lines in seq order, and how many match in all:
// the stored ones and, around them, the two derived from its record.
func (s *Store) Logs(ctx context.Context, jobID string, f LogFilter) ([]LogLine, int, error) {
	first, last, err := s.derivedLines(ctx, jobID)
	if err != nil {
		return nil, 0, err
	}
	pre, post := 0, 0
	if first != nil && f.matches(first) {
		pre = 1
	}
	if last != nil && f.matches(last) {
		post = 1
	}
	where := []string{"job_id = ?", "level >= ?"}
	args := []any{jobID, f.MinLevel}
	if f.RoutineID != "" {
		where = append(where, "routine_id = ?")
		args = append(args, f.RoutineID)
	}
	if f.Query != "" {
		where = append(where, `message LIKE ? ESCAPE '\'`)
		args = append(args, likePattern(f.Query))
	}
	cond := strings.Join(where, " AND ")
	var stored int
	if err := s.r.GetContext(ctx, &stored, "SELECT count(*) FROM logs WHERE "+cond, args...); err != nil {
		return nil, 0, fmt.Errorf("count logs: %w", err)
	}
	// The page over first, the stored lines, last: first is at 0, the
	// stored ones from pre, last at pre+stored.
	var out []LogLine
	end := f.Offset + f.Limit
	if pre == 1 && f.Offset == 0 && f.Limit > 0 {
		out = append(out, *first)
	}
	if from, to := max(f.Offset, pre), min(end, pre+stored); to > from {
		var rows []struct {
			Seq       int64  `db:"seq"`
			Time      int64  `db:"time"`
			Level     int    `db:"level"`
			RoutineID string `db:"routine_id"`
			Message   string `db:"message"`
		}
		err := s.r.SelectContext(ctx, &rows, "SELECT seq, time, level, routine_id, message FROM logs WHERE "+cond+
			" ORDER BY seq LIMIT ? OFFSET ?", append(args, to-from, from-pre)...)
		if err != nil {
			return nil, 0, fmt.Errorf("list logs: %w", err)
		}
		for _, r := range rows {
			out = append(out, LogLine{Seq: r.Seq, Time: fromNanos(r.Time), Level: levels[min(max(r.Level, 0), len(levels)-1)], RoutineID: r.RoutineID, Message: r.Message})
		}
	}
	if at := pre + stored; post == 1 && f.Offset <= at && at < end {
		out = append(out, *last)
	}
	return out, pre + stored + post, nil
}

// derivedLines rebuilds the lines of a job's start (seq 1) and, once it
// has completed, of its completion (its last event), from its record: the
// writer does not store them (two rows per job were a sixth of what it
// wrote). The engine stamps those events with the record's times.
func (s *Store) derivedLines(ctx context.Context, jobID string) (first, last *LogLine, err error) {
	var rec struct {
		FlowID      string        `db:"flow_id"`
		Status      string        `db:"status"`
		CreatedAt   int64         `db:"created_at"`
		StartedAt   sql.NullInt64 `db:"started_at"`
		CompletedAt sql.NullInt64 `db:"completed_at"`
		Duration    float64       `db:"duration"`
		Events      int64         `db:"events"`
	}
	err = s.r.GetContext(ctx, &rec, `SELECT flow_id, status, created_at, started_at, completed_at, duration, events FROM jobs WHERE id = ?`, jobID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read the record of job %s: %w", jobID, err)
	}
	started := rec.CreatedAt
	if rec.StartedAt.Valid {
		started = rec.StartedAt.Int64
	}
	first = &LogLine{Seq: 1, Time: fromNanos(started), Level: "info", Message: "job started (flow " + rec.FlowID + ")"}
	if rec.Status == events.StatusCompleted && rec.CompletedAt.Valid {
		last = &LogLine{Seq: rec.Events, Time: fromNanos(rec.CompletedAt.Int64), Level: "info", Message: fmt.Sprintf("job completed in %.3fs", rec.Duration)}
	}
	return first, last, nil
}

// matches applies the filter to a derived line as the query applies it
// to stored ones (LIKE: a substring, ASCII letters in either case).
func (f LogFilter) matches(l *LogLine) bool {
	if LevelRank(l.Level) < f.MinLevel || (f.RoutineID != "" && l.RoutineID != f.RoutineID) {
		return false
	}
	return f.Query == "" || strings.Contains(asciiLower(l.Message), asciiLower(f.Query))
}

func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}
