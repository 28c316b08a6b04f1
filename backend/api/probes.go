package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/switchyard/switchyard/backend/apierr"
)

// Readiness tells whether the server can serve (the database is writable
// and migrated).
type Readiness interface {
	Ready(ctx context.Context) error
}

// registerProbes mounts the supervisors' probes at the root: /healthz
// answers while the process runs, /readyz while it can also serve.
func (a *API) registerProbes(r *gin.Engine) {
	r.GET("/healthz", func(c *gin.Context) {
		c.JSON(http.StatusOK, gin.H{"status": "ok"})
	})
	r.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		if a.Ready == nil {
			c.JSON(http.StatusOK, gin.H{"status": "ready"})
			return
		}
		if err := a.Ready.Ready(ctx); err != nil {
			apierr.Abort(c, apierr.NotReady, err.Error())
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	})
}
