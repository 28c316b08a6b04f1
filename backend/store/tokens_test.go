package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/store"
)

func TestTokensCreateListRevokeTouch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	created := time.Now().UTC().Truncate(time.Microsecond)
	a := store.Token{ID: "aaaaaaaaaaaa", Name: "ci", Role: "viewer", SecretHash: []byte{1, 2, 3}, CreatedAt: created}
	if err := s.CreateToken(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, a); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate id: %v", err)
	}
	if err := s.CreateToken(ctx, store.Token{ID: "b", Name: "x", Role: "root", SecretHash: []byte{1}, CreatedAt: created}); err == nil {
		t.Fatal("a token with an unknown role was stored")
	}
	used := created.Add(time.Second)
	if err := s.TouchToken(ctx, a.ID, used); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchToken(ctx, a.ID, created); err != nil { // never back
		t.Fatal(err)
	}
	r, err := s.RevokeToken(ctx, a.ID, used.Add(time.Second))
	if err != nil || r.RevokedAt == nil || !r.Revoked() {
		t.Fatalf("revoke: %+v %v", r, err)
	}
	if again, err := s.RevokeToken(ctx, a.ID, used.Add(time.Hour)); err != nil || !again.RevokedAt.Equal(*r.RevokedAt) {
		t.Fatalf("second revoke: %+v %v", again, err)
	}
	if _, err := s.RevokeToken(ctx, "nope", used); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
	s.Close()
	s = open(t, dir)
	defer s.Close()
	list, err := s.ListTokens(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %+v %v", list, err)
	}
	got := list[0]
	if got.Name != "ci" || got.Role != "viewer" || string(got.SecretHash) != "\x01\x02\x03" || !got.CreatedAt.Equal(created) ||
		got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) || !got.Revoked() {
		t.Fatalf("stored: %+v", got)
	}
}
