// Package client talks to a Switchyard server: REST calls for flows, jobs,
// their logs and event log, and breakpoints, and Watch, which follows a job's live
// stream (/api/ws/executions/{id}, the "WebSocket API Guide" protocol) and
// survives dropped connections without losing or repeating a message.
//
// The package depends on the standard library, gorilla/websocket and the
// model types of backend/events only, so programs that merely talk to a
// server do not pull in the server.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/backend/events"
)

// Client is a Switchyard REST client. The zero value is not usable: set
// BaseURL (e.g. "http://127.0.0.1:20555"); HTTP defaults to a client with a
// 30 s timeout.
type Client struct {
	BaseURL string
	HTTP    *http.Client
	// Token, when set, is sent as "Authorization: Bearer <token>".
	Token string
}

// New returns a client of the server at baseURL.
func New(baseURL string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Job is a job's record as GET /api/jobs/{id} returns it.
type Job = events.JobState

// RoutineState is one routine's state within a job.
type RoutineState = events.RoutineState

// Event is one entry of a job's event log (GET /api/jobs/{id}/events).
type Event = events.Event

// APIError is an error answer of the REST API:
// {"error":{"code":"JOB_NOT_FOUND","message":"…"}} with its HTTP status.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
}

// IsNotFound reports whether err is a 404 answer of the server.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// StartJob starts a job of a flow (POST /api/jobs). params may be nil.
func (c *Client) StartJob(ctx context.Context, flowID string, params any) (Job, error) {
	body := map[string]any{"flow_id": flowID}
	if params != nil {
		body["params"] = params
	}
	var j Job
	err := c.do(ctx, http.MethodPost, "/api/jobs", body, &j)
	return j, err
}

// GetJob reads a job (GET /api/jobs/{id}).
func (c *Client) GetJob(ctx context.Context, jobID string) (Job, error) {
	var j Job
	err := c.do(ctx, http.MethodGet, "/api/jobs/"+url.PathEscape(jobID), nil, &j)
	return j, err
}

// Events reads the job's whole event log after since, following pages.
func (c *Client) Events(ctx context.Context, jobID string, since int64) ([]Event, error) {
	var all []Event
	for {
		var page struct {
			Events    []Event `json:"events"`
			NextSince int64   `json:"next_since"`
			HasMore   bool    `json:"has_more"`
		}
		path := "/api/jobs/" + url.PathEscape(jobID) + "/events?limit=10000&since=" + strconv.FormatInt(since, 10)
		if err := c.do(ctx, http.MethodGet, path, nil, &page); err != nil {
			return all, err
		}
		all = append(all, page.Events...)
		if !page.HasMore || len(page.Events) == 0 {
			return all, nil
		}
		since = page.NextSince
	}
}

// hasEventsAfter reports whether the job's log holds an event after since.
func (c *Client) hasEventsAfter(ctx context.Context, jobID string, since int64) (bool, error) {
	var page struct {
		Events []json.RawMessage `json:"events"`
	}
	path := "/api/jobs/" + url.PathEscape(jobID) + "/events?limit=1&since=" + strconv.FormatInt(since, 10)
	if err := c.do(ctx, http.MethodGet, path, nil, &page); err != nil {
		return false, err
	}
	return len(page.Events) > 0, nil
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = raw
	}
	_, err := c.send(ctx, method, path, "application/json", body, out)
	return err
}

// send makes a request with body (none if nil) of contentType, decodes a
// JSON answer into out (unless out is nil; a *json.RawMessage gets the
// body as it came) and returns the answer's status. An answer of 300 or
// more is an *APIError.
func (c *Client) send(ctx context.Context, method, path, contentType string, body []byte, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, decodeAPIError(resp.StatusCode, raw)
	}
	if out == nil || len(raw) == 0 {
		return resp.StatusCode, nil
	}
	if rm, ok := out.(*json.RawMessage); ok {
		*rm = append((*rm)[:0], raw...)
		return resp.StatusCode, nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return resp.StatusCode, nil
}

func decodeAPIError(status int, raw []byte) error {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &e) == nil && (e.Error.Code != "" || e.Error.Message != "") {
		return &APIError{Status: status, Code: e.Error.Code, Message: e.Error.Message}
	}
	msg := strings.TrimSpace(string(raw))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &APIError{Status: status, Message: msg}
}
