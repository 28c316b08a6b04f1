package client

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// Flow is a stored flow as GET /api/flows/{id} returns it. Raw is the
// answer as it came (it holds every field, also those not decoded here).
type Flow struct {
	ID          string                 `json:"flow_id"`
	Name        string                 `json:"name,omitempty"`
	Description string                 `json:"description,omitempty"`
	Version     int                    `json:"version,omitempty"`
	Routines    map[string]RoutineSpec `json:"routines"`
	Connections []Connection           `json:"connections"`
	CreatedAt   *time.Time             `json:"created_at,omitempty"`
	UpdatedAt   *time.Time             `json:"updated_at,omitempty"`

	Raw json.RawMessage `json:"-"`
}

// RoutineSpec is one routine of a flow.
type RoutineSpec struct {
	Kind        string         `json:"kind"`
	Description string         `json:"description,omitempty"`
	Config      map[string]any `json:"config,omitempty"`
}

// Connection delivers what routine.event emits to routine.slot.
type Connection struct {
	From         string            `json:"from"`
	To           string            `json:"to"`
	ParamMapping map[string]string `json:"param_mapping,omitempty"`
}

// FlowSummary is a flow in GET /api/flows.
type FlowSummary struct {
	ID           string    `json:"flow_id"`
	Name         string    `json:"name"`
	Description  string    `json:"description"`
	Version      int       `json:"version"`
	RoutineCount int       `json:"routine_count"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// FlowList is a page of GET /api/flows. Raw is the answer as it came.
type FlowList struct {
	Flows  []FlowSummary `json:"flows"`
	Total  int           `json:"total"`
	Limit  int           `json:"limit"`
	Offset int           `json:"offset"`

	Raw json.RawMessage `json:"-"`
}

// Validation is the answer of POST /api/flows/{id}/validate. Raw is the
// answer as it came.
type Validation struct {
	Valid    bool    `json:"valid"`
	Errors   []Issue `json:"errors"`
	Warnings []Issue `json:"warnings"`

	Raw json.RawMessage `json:"-"`
}

// Issue is one finding of a validation, located at a routine or a
// connection (its index) when it has a place.
type Issue struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	RoutineID  string `json:"routine_id,omitempty"`
	Connection *int   `json:"connection,omitempty"`
}

// CreateFlow stores a new flow (POST /api/flows) from its definition, YAML
// or JSON. An existing flow_id is refused with 409 FLOW_EXISTS, an invalid
// flow with 422 FLOW_INVALID.
func (c *Client) CreateFlow(ctx context.Context, definition []byte) (Flow, error) {
	var f Flow
	err := c.sendRaw(ctx, http.MethodPost, "/api/flows", definitionType(definition), definition, &f, &f.Raw)
	return f, err
}

// UpdateFlow stores a definition (YAML or JSON) as the next version of
// flow id (PUT /api/flows/{id}).
func (c *Client) UpdateFlow(ctx context.Context, id string, definition []byte) (Flow, error) {
	var f Flow
	err := c.sendRaw(ctx, http.MethodPut, "/api/flows/"+url.PathEscape(id), definitionType(definition), definition, &f, &f.Raw)
	return f, err
}

// GetFlow reads the current version of a flow (GET /api/flows/{id}).
func (c *Client) GetFlow(ctx context.Context, id string) (Flow, error) {
	var f Flow
	err := c.getRaw(ctx, "/api/flows/"+url.PathEscape(id), &f, &f.Raw)
	return f, err
}

// ListFlows lists flows (GET /api/flows); limit 0 is the server's default
// page of 50.
func (c *Client) ListFlows(ctx context.Context, limit, offset int) (FlowList, error) {
	q := url.Values{}
	setInt(q, "limit", limit)
	setInt(q, "offset", offset)
	var l FlowList
	err := c.getRaw(ctx, "/api/flows"+query(q), &l, &l.Raw)
	return l, err
}

// FlowDefinition reads a flow's definition as format "yaml" or "json"
// (GET /api/flows/{id}/dsl).
func (c *Client) FlowDefinition(ctx context.Context, id, format string) ([]byte, error) {
	var raw json.RawMessage // any body: send keeps it as it came
	_, err := c.send(ctx, http.MethodGet, "/api/flows/"+url.PathEscape(id)+"/dsl?format="+url.QueryEscape(format), "", nil, &raw)
	return raw, err
}

// ValidateFlow validates a definition (YAML or JSON) without storing it
// (POST /api/flows/{id}/validate; a definition without flow_id takes id).
// A nil definition validates the stored flow id.
func (c *Client) ValidateFlow(ctx context.Context, id string, definition []byte) (Validation, error) {
	var v Validation
	err := c.sendRaw(ctx, http.MethodPost, "/api/flows/"+url.PathEscape(id)+"/validate", definitionType(definition), definition, &v, &v.Raw)
	return v, err
}

// DeleteFlow deletes a flow (DELETE /api/flows/{id}).
func (c *Client) DeleteFlow(ctx context.Context, id string) error {
	_, err := c.send(ctx, http.MethodDelete, "/api/flows/"+url.PathEscape(id), "", nil, nil)
	return err
}

// definitionType is the Content-Type of a flow definition: JSON when it
// is an object ({"flow_id": …} or {"dsl": "<yaml>"}), YAML otherwise.
func definitionType(definition []byte) string {
	if t := bytes.TrimSpace(definition); len(t) > 0 && t[0] == '{' {
		return "application/json"
	}
	return "application/yaml"
}
