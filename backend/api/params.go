package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/switchyard/switchyard/backend/apierr"
)

// page reads limit and offset with bounds; it answers 400 itself and
// returns ok=false on bad values.
func page(c *gin.Context, def, maxLimit int) (limit, offset int, ok bool) {
	limit, ok = intQuery(c, "limit", def, 1, maxLimit)
	if !ok {
		return 0, 0, false
	}
	offset, ok = intQuery(c, "offset", 0, 0, 1<<31-1)
	return limit, offset, ok
}

func intQuery(c *gin.Context, name string, def, lo, hi int) (int, bool) {
	raw, present := c.GetQuery(name)
	if !present || raw == "" {
		return def, true
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		apierr.Abort(c, apierr.BadQuery, fmt.Sprintf("%s must be an integer between %d and %d, got %q", name, lo, hi, raw))
		return 0, false
	}
	return n, true
}

// readBody reads the whole body, answering 413/400 itself on failure.
func readBody(c *gin.Context) ([]byte, bool) {
	b, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			apierr.Abort(c, apierr.BodyTooLarge, fmt.Sprintf("request body exceeds %d bytes", tooBig.Limit))
		} else {
			apierr.Abort(c, apierr.BadBody, "could not read request body: "+err.Error())
		}
		return nil, false
	}
	return b, true
}

// readJSON reads the body and strictly decodes it into v, answering
// 400/413 itself on failure.
func readJSON(c *gin.Context, v any) bool {
	body, ok := readBody(c)
	return ok && decodeJSON(c, body, v)
}

// decodeJSON strictly decodes a JSON object body into v.
func decodeJSON(c *gin.Context, body []byte, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		apierr.Abort(c, apierr.BadJSON, describeJSON(err))
		return false
	}
	if dec.More() {
		apierr.Abort(c, apierr.BadJSON, "unexpected data after the JSON object")
		return false
	}
	return true
}

func describeJSON(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return fmt.Sprintf("field %q must be %s, not %s", typeErr.Field, typeErr.Type, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("malformed JSON at byte %d: %v", syntaxErr.Offset, err)
	case errors.Is(err, io.EOF):
		return "request body is empty; a JSON object is required"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: unexpected end of input"
	default:
		return "invalid JSON body: " + err.Error()
	}
}
