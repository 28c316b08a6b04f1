package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// JobFilter selects jobs for ListJobs; zero fields do not filter (Limit 0
// is the server's default page of 50).
type JobFilter struct {
	FlowID string
	Status string // pending, running, paused, completed, failed or cancelled
	Limit  int
	Offset int
}

// JobList is a page of GET /api/jobs. Raw is the answer as it came.
type JobList struct {
	Jobs   []Job `json:"jobs"`
	Total  int   `json:"total"`
	Limit  int   `json:"limit"`
	Offset int   `json:"offset"`

	Raw json.RawMessage `json:"-"`
}

// LogFilter selects a job's log lines for Logs; zero fields do not filter.
type LogFilter struct {
	Level     string // the lowest level shown: debug, info, warning or error
	RoutineID string
	Query     string // a case-insensitive substring of the message
	Limit     int    // at most 1000; 0 is the server's default of 100
	Offset    int
}

// LogLine is one line of a job's log.
type LogLine struct {
	Seq       int64     `json:"seq"`
	Time      time.Time `json:"time"`
	Level     string    `json:"level"`
	RoutineID string    `json:"routine_id"`
	Message   string    `json:"message"`
}

// LogPage is a page of GET /api/jobs/{id}/logs. Raw is the answer as it came.
type LogPage struct {
	Logs   []LogLine `json:"logs"`
	Total  int       `json:"total"`
	Limit  int       `json:"limit"`
	Offset int       `json:"offset"`

	Raw json.RawMessage `json:"-"`
}

// StartJobWait starts a job of a flow and waits up to wait for it to end
// (POST /api/jobs?wait=…). ended is false when the job was still running
// when wait was up; job is then its state at that moment.
func (c *Client) StartJobWait(ctx context.Context, flowID string, params any, wait time.Duration) (job Job, ended bool, err error) {
	body := map[string]any{"flow_id": flowID}
	if params != nil {
		body["params"] = params
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return job, false, err
	}
	// The answer takes as long as the job: the client's own timeout must
	// not cut it short.
	long := *c
	if h := c.httpClient(); h.Timeout > 0 && h.Timeout < wait+30*time.Second {
		hc := *h
		hc.Timeout = wait + 30*time.Second
		long.HTTP = &hc
	}
	status, err := long.send(ctx, http.MethodPost, "/api/jobs?wait="+url.QueryEscape(wait.String()), "application/json", raw, &job)
	return job, status == http.StatusCreated, err
}

// ListJobs lists jobs, newest first (GET /api/jobs).
func (c *Client) ListJobs(ctx context.Context, f JobFilter) (JobList, error) {
	q := url.Values{}
	set(q, "flow_id", f.FlowID)
	set(q, "status", f.Status)
	setInt(q, "limit", f.Limit)
	setInt(q, "offset", f.Offset)
	var l JobList
	err := c.getRaw(ctx, "/api/jobs"+query(q), &l, &l.Raw)
	return l, err
}

// PauseJob pauses a running job (POST /api/jobs/{id}/pause).
func (c *Client) PauseJob(ctx context.Context, jobID string) (Job, error) {
	return c.control(ctx, jobID, "pause")
}

// ResumeJob resumes a paused job, or one held by the debugger
// (POST /api/jobs/{id}/resume).
func (c *Client) ResumeJob(ctx context.Context, jobID string) (Job, error) {
	return c.control(ctx, jobID, "resume")
}

// CancelJob cancels an active job (POST /api/jobs/{id}/cancel); the answer
// normally shows it ended.
func (c *Client) CancelJob(ctx context.Context, jobID string) (Job, error) {
	return c.control(ctx, jobID, "cancel")
}

func (c *Client) control(ctx context.Context, jobID, action string) (Job, error) {
	var j Job
	_, err := c.send(ctx, http.MethodPost, "/api/jobs/"+url.PathEscape(jobID)+"/"+action, "", nil, &j)
	return j, err
}

// Logs reads a page of a job's log lines, in seq order
// (GET /api/jobs/{id}/logs).
func (c *Client) Logs(ctx context.Context, jobID string, f LogFilter) (LogPage, error) {
	q := url.Values{}
	set(q, "level", f.Level)
	set(q, "routine_id", f.RoutineID)
	set(q, "q", f.Query)
	setInt(q, "limit", f.Limit)
	setInt(q, "offset", f.Offset)
	var p LogPage
	err := c.getRaw(ctx, "/api/jobs/"+url.PathEscape(jobID)+"/logs"+query(q), &p, &p.Raw)
	return p, err
}

// getRaw GETs path, decoding the answer into out and keeping it in raw.
func (c *Client) getRaw(ctx context.Context, path string, out any, raw *json.RawMessage) error {
	return c.sendRaw(ctx, http.MethodGet, path, "", nil, out, raw)
}

// sendRaw is send that decodes the answer into out and keeps it in raw.
func (c *Client) sendRaw(ctx context.Context, method, path, contentType string, body []byte, out any, raw *json.RawMessage) error {
	if _, err := c.send(ctx, method, path, contentType, body, raw); err != nil {
		return err
	}
	if len(*raw) == 0 {
		return fmt.Errorf("%s %s: empty answer", method, path)
	}
	if err := json.Unmarshal(*raw, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func set(q url.Values, key, v string) {
	if v != "" {
		q.Set(key, v)
	}
}

func setInt(q url.Values, key string, n int) {
	if n != 0 {
		q.Set(key, strconv.Itoa(n))
	}
}

func query(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}
