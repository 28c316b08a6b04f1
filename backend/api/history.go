package api

import "github.com/gin-gonic/gin"

// History answers post-mortem questions from a job's event log.
type History interface{}

func (a *API) registerHistory(g *gin.RouterGroup) {}
