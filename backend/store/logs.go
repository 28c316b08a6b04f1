package store

import (
	"context"
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

// logLineOf derives the log line an event stands for, if any: explicit log
// events, and the lifecycle of the job and its failures.
func logLineOf(ev *events.Event) (logLine, bool) {
	l := logLine{jobID: ev.JobID, LogLine: LogLine{Seq: ev.Seq, Time: ev.Time, Level: "info", RoutineID: ev.RoutineID}}
	switch ev.Type {
	case events.Log:
		l.Level, l.Message = ev.Level, ev.Message
	case events.JobStarted:
		l.Message = fmt.Sprintf("job started (flow %s)", ev.FlowID)
	case events.JobPaused:
		l.Message = "job paused"
	case events.JobResumed:
		l.Message = "job resumed"
	case events.JobCompleted:
		l.Message = fmt.Sprintf("job completed in %.3fs", ev.Duration)
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

// Logs returns a job's log lines in seq order, and how many match in all.
func (s *Store) Logs(ctx context.Context, jobID string, f LogFilter) ([]LogLine, int, error) {
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
	var total int
	if err := s.r.GetContext(ctx, &total, "SELECT count(*) FROM logs WHERE "+cond, args...); err != nil {
		return nil, 0, fmt.Errorf("count logs: %w", err)
	}
	var rows []struct {
		Seq       int64  `db:"seq"`
		Time      int64  `db:"time"`
		Level     int    `db:"level"`
		RoutineID string `db:"routine_id"`
		Message   string `db:"message"`
	}
	err := s.r.SelectContext(ctx, &rows, "SELECT seq, time, level, routine_id, message FROM logs WHERE "+cond+
		" ORDER BY seq LIMIT ? OFFSET ?", append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list logs: %w", err)
	}
	out := make([]LogLine, len(rows))
	for i, r := range rows {
		out[i] = LogLine{Seq: r.Seq, Time: fromNanos(r.Time), Level: levels[min(max(r.Level, 0), len(levels)-1)], RoutineID: r.RoutineID, Message: r.Message}
	}
	return out, total, nil
}
