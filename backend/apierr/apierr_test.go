package apierr_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchyard/switchyard/backend/apierr"
)

func TestCodesAreUniqueErrorsWithAMeaning(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range apierr.All() {
		if seen[c.String()] {
			t.Errorf("%s is defined twice", c)
		}
		seen[c.String()] = true
		if c.Status() < 400 || c.Status() > 599 || http.StatusText(c.Status()) == "" || c.Meaning() == "" {
			t.Errorf("%s: status %d, meaning %q", c, c.Status(), c.Meaning())
		}
	}
	if len(seen) < 30 {
		t.Errorf("only %d codes", len(seen))
	}
}

func TestWriteSendsTheBodyWithTheCodesStatus(t *testing.T) {
	rec := httptest.NewRecorder()
	apierr.Write(rec, httptest.NewRequest(http.MethodGet, "/api/nope", nil), apierr.NotFound, "no API endpoint GET /api/nope")
	var body apierr.Body
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusNotFound || body.Error.Code != "NOT_FOUND" || body.Error.Message != "no API endpoint GET /api/nope" ||
		rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("%d %s %+v", rec.Code, rec.Header().Get("Content-Type"), body)
	}
	head := httptest.NewRecorder()
	apierr.Write(head, httptest.NewRequest(http.MethodHead, "/api/nope", nil), apierr.NotFound, "x")
	if head.Code != http.StatusNotFound || head.Body.Len() != 0 {
		t.Fatalf("HEAD: %d with %d bytes", head.Code, head.Body.Len())
	}
}
