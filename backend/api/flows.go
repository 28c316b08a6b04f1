package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/switchyard/switchyard/backend/apierr"
	"github.com/switchyard/switchyard/backend/flow"
)

// parseFlowBody accepts a flow as JSON, {"dsl": "<yaml or json>"}, or a raw
// YAML body (Content-Type application/yaml or text/yaml).
func parseFlowBody(c *gin.Context) (*flow.Flow, bool) {
	body, ok := readBody(c)
	if !ok {
		return nil, false
	}
	return parseFlowSource(c, body)
}

func parseFlowSource(c *gin.Context, body []byte) (*flow.Flow, bool) {
	src := body
	ct := c.ContentType()
	if !strings.Contains(ct, "yaml") {
		var wrapper map[string]json.RawMessage
		if err := json.Unmarshal(body, &wrapper); err != nil {
			apierr.Abort(c, apierr.BadJSON, describeJSON(err)+" (send a flow as JSON, {\"dsl\": \"<yaml>\"}, or YAML with Content-Type application/yaml)")
			return nil, false
		}
		if raw, isDSL := wrapper["dsl"]; isDSL {
			if len(wrapper) > 1 {
				apierr.Abort(c, apierr.BadJSON, `a {"dsl": …} body must have no other fields`)
				return nil, false
			}
			var text string
			if err := json.Unmarshal(raw, &text); err != nil {
				apierr.Abort(c, apierr.BadJSON, `"dsl" must be a string holding the YAML (or JSON) definition`)
				return nil, false
			}
			src = []byte(text)
		}
	}
	f, err := flow.Parse(src)
	if err != nil {
		apierr.Abort(c, apierr.BadFlow, err.Error())
		return nil, false
	}
	return f, true
}

// checkFlow answers 422 with every validation error if f is invalid.
func (a *API) checkFlow(c *gin.Context, f *flow.Flow) bool {
	res := flow.Validate(f, a.Engine.Registry())
	if res.Valid {
		return true
	}
	msgs := make([]string, 0, len(res.Errors))
	for _, e := range res.Errors {
		msgs = append(msgs, e.Message)
	}
	apierr.AbortWithDetails(c, apierr.FlowInvalid, "flow is invalid: "+strings.Join(msgs, "; "), res)
	return false
}

func (a *API) createFlow(c *gin.Context) {
	f, ok := parseFlowBody(c)
	if !ok || !a.checkFlow(c, f) {
		return
	}
	stored, err := a.Flows.CreateFlow(c.Request.Context(), f)
	if err != nil {
		a.storeError(c, apierr.FlowNotFound, err)
		return
	}
	c.JSON(http.StatusCreated, stored)
}

func (a *API) updateFlow(c *gin.Context) {
	id := c.Param("id")
	f, ok := parseFlowBody(c)
	if !ok {
		return
	}
	switch f.ID {
	case "":
		f.ID = id
	case id:
	default:
		apierr.Abort(c, apierr.FlowIDMismatch, fmt.Sprintf("flow_id %q in the body does not match %q in the path", f.ID, id))
		return
	}
	if !a.checkFlow(c, f) {
		return
	}
	stored, err := a.Flows.UpdateFlow(c.Request.Context(), f)
	if err != nil {
		a.storeError(c, apierr.FlowNotFound, err)
		return
	}
	c.JSON(http.StatusOK, stored)
}

func (a *API) listFlows(c *gin.Context) {
	limit, offset, ok := page(c, 50, 1000)
	if !ok {
		return
	}
	list, total, err := a.Flows.ListFlows(c.Request.Context(), limit, offset)
	if err != nil {
		a.internal(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"flows": nonNil(list), "total": total, "limit": limit, "offset": offset})
}

// loadFlow fetches the flow named in the path (optionally ?version=N).
func (a *API) loadFlow(c *gin.Context) (*flow.Flow, bool) {
	version, ok := intQuery(c, "version", 0, 1, 1<<31-1)
	if !ok {
		return nil, false
	}
	f, err := a.Flows.GetFlow(c.Request.Context(), c.Param("id"), version)
	if err != nil {
		a.storeError(c, apierr.FlowNotFound, err)
		return nil, false
	}
	return f, true
}

func (a *API) getFlow(c *gin.Context) {
	if f, ok := a.loadFlow(c); ok {
		c.JSON(http.StatusOK, f)
	}
}

func (a *API) deleteFlow(c *gin.Context) {
	if err := a.Flows.DeleteFlow(c.Request.Context(), c.Param("id")); err != nil {
		a.storeError(c, apierr.FlowNotFound, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// validateFlow checks the stored flow, or the flow in the body if one is sent.
func (a *API) validateFlow(c *gin.Context) {
	body, ok := readBody(c)
	if !ok {
		return
	}
	var f *flow.Flow
	if len(bytes.TrimSpace(body)) > 0 {
		parsed, ok := parseFlowSource(c, body)
		if !ok {
			return
		}
		if parsed.ID == "" {
			parsed.ID = c.Param("id")
		}
		f = parsed
	} else {
		stored, ok := a.loadFlow(c)
		if !ok {
			return
		}
		f = stored
	}
	c.JSON(http.StatusOK, flow.Validate(f, a.Engine.Registry()))
}

func (a *API) flowDSL(c *gin.Context) {
	format := c.DefaultQuery("format", "yaml")
	if format != "yaml" && format != "json" {
		apierr.Abort(c, apierr.BadQuery, fmt.Sprintf("format must be yaml or json, got %q", format))
		return
	}
	f, ok := a.loadFlow(c)
	if !ok {
		return
	}
	var out []byte
	var err error
	contentType := "application/yaml; charset=utf-8"
	if format == "json" {
		out, err = f.JSON()
		contentType = "application/json; charset=utf-8"
	} else {
		out, err = f.YAML()
	}
	if err != nil {
		a.internal(c, errors.Join(errors.New("render flow"), err))
		return
	}
	c.Data(http.StatusOK, contentType, out)
}
