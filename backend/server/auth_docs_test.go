package server_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/switchyard/switchyard/backend/auth"
	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/servertest"
)

// docs/api.md's table of roles is the server's.
func TestRolesTableInDocsIsTheServers(t *testing.T) {
	raw, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Z]+) (/[^`]*)` \\| (none|viewer|operator|admin) \\|$")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(raw), -1) {
		documented[m[1]+" "+m[2]] = m[3]
	}
	param := regexp.MustCompile(`:([a-z]+)`)
	in := servertest.Start(t, server.Config{})
	for _, rt := range in.Server.Handler.(*gin.Engine).Routes() {
		role, ok := server.RouteRole(rt.Method, rt.Path)
		if !ok {
			t.Errorf("%s %s: not in the server's table", rt.Method, rt.Path)
			continue
		}
		key := rt.Method + " " + param.ReplaceAllString(rt.Path, "{$1}")
		want := role.String()
		if role == auth.None {
			want = "none"
		}
		if got, ok := documented[key]; !ok || got != want {
			t.Errorf("docs/api.md says %s needs %q, the server %q", key, got, want)
		}
		delete(documented, key)
	}
	for key := range documented {
		t.Errorf("docs/api.md lists %s, which the server does not have", key)
	}
}
