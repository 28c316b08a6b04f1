// Package archtest guards the direction of imports: the core packages
// (flow, events, engine, routines) know nothing of HTTP, WebSockets or SQL;
// those live in api, ws, ui and store, which depend on the core, never the
// reverse.
package archtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/switchyard/switchyard"

// deps lists the transitive imports of a package.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", module+"/"+pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestCoreDoesNotImportTransportOrStorage(t *testing.T) {
	forbidden := []string{
		"github.com/gin-gonic/gin", "github.com/olahol/melody", "github.com/jmoiron/sqlx",
		"github.com/mattn/go-sqlite3", "database/sql", "github.com/a-h/templ",
		module + "/backend/api", module + "/backend/store", module + "/backend/ws",
		module + "/backend/ui", module + "/backend/server",
	}
	for _, pkg := range []string{"backend/flow", "backend/events", "backend/engine", "backend/routines"} {
		for _, d := range deps(t, pkg) {
			// Interfaces only, no SQL: github.com/google/uuid (under
			// modernc.org/libc, the scripts' QuickJS) implements them.
			if d == "database/sql/driver" {
				continue
			}
			for _, f := range forbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("%s imports %s", pkg, d)
				}
			}
		}
	}
}

func TestFlowAndEventsStayBelowTheEngine(t *testing.T) {
	for _, pkg := range []string{"backend/flow", "backend/events"} {
		for _, d := range deps(t, pkg) {
			if strings.HasPrefix(d, module+"/backend/") && d != module+"/"+pkg {
				t.Errorf("%s imports %s; it must depend on no other package of ours", pkg, d)
			}
		}
	}
}

// TestOnlyApierrWritesErrorBodies keeps the error body in one place: every
// HTTP error answer goes through backend/apierr.
func TestOnlyApierrWritesErrorBodies(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.Dir}}{{range .GoFiles}} {{.}}{{end}}`, module+"/backend/...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || strings.HasSuffix(fields[0], "/apierr") {
			continue
		}
		for _, name := range fields[1:] {
			src, err := os.ReadFile(filepath.Join(fields[0], name))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(src), "AbortWithStatusJSON") || strings.Contains(string(src), `"error": gin.H`) {
				t.Errorf("%s/%s writes an error body itself; use backend/apierr", fields[0], name)
			}
		}
	}
}
