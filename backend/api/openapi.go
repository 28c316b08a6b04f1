package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

func (a *API) openAPI(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"openapi": "3.1.0", "info": gin.H{"title": "Switchyard", "version": a.Version}, "paths": gin.H{}})
}
