package api

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/switchyard/switchyard/backend/apierr"
	"github.com/switchyard/switchyard/backend/routines"
)

type checkExpressionRequest struct {
	Expression string `json:"expression"`
	// As is what the text will be: "expression" (a transform's), "condition"
	// (a filter's or a breakpoint's: it must be boolean) or "template" (a
	// log message, a logpoint's).
	As string `json:"as"`
}

type checkExpressionResult struct {
	OK    bool    `json:"ok"`
	Error *string `json:"error"`
}

// checkExpression compiles an expression as the server will, so editors can
// show the compiler's message (with its position) as the user types.
func (a *API) checkExpression(c *gin.Context) {
	var req checkExpressionRequest
	if !readJSON(c, &req) {
		return
	}
	if tooLong(c, req.Expression) {
		return
	}
	var err error
	switch req.As {
	case "", "expression":
		_, err = routines.CompileExpression(req.Expression)
	case "condition":
		_, err = routines.CompileCondition(req.Expression)
	case "template":
		_, err = routines.ParseTemplate(req.Expression)
	default:
		apierr.Abort(c, apierr.BadRequest, fmt.Sprintf("as %q is not one of expression, condition, template", req.As))
		return
	}
	res := checkExpressionResult{OK: err == nil}
	if err != nil {
		msg := err.Error()
		res.Error = &msg
	}
	c.JSON(http.StatusOK, res)
}
