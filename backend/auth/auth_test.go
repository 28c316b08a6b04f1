package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/store"
)

type fakeSource struct {
	mu      sync.Mutex
	tokens  []store.Token
	reads   int
	touches []string
}

func (f *fakeSource) ListTokens(context.Context) ([]store.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return append([]store.Token(nil), f.tokens...), nil
}

func (f *fakeSource) TouchToken(_ context.Context, id string, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.touches = append(f.touches, id)
	return nil
}

func (f *fakeSource) add(t *testing.T, name string, role Role) (store.Token, string) {
	t.Helper()
	tok, text, err := NewToken(name, role, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.tokens = append(f.tokens, tok)
	f.mu.Unlock()
	return tok, text
}

func TestGenerateAndParse(t *testing.T) {
	id, token, hash, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, "sy_"+id+"_") || len(token) != 3+12+1+64 {
		t.Fatalf("token %q (id %q)", token, id)
	}
	gotID, secret, ok := Parse(token)
	if !ok || gotID != id || string(Hash(secret)) != string(hash) {
		t.Fatalf("parse %q: %q %q %v", token, gotID, secret, ok)
	}
	_, other, _, _ := Generate()
	if other == token {
		t.Fatal("two tokens alike")
	}
	for _, bad := range []string{"", "sy_", "sy_abc", token[:len(token)-1], strings.ToUpper(token), "xx" + token[2:],
		strings.Replace(token, "_", "-", 2), token + "0"} {
		if _, _, ok := Parse(bad); ok {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestRoles(t *testing.T) {
	for _, name := range Roles {
		r, err := ParseRole(name)
		if err != nil || r.String() != name {
			t.Errorf("%s: %v %v", name, r, err)
		}
	}
	if !(Viewer < Operator && Operator < Admin && None < Viewer) {
		t.Error("roles out of order")
	}
	if _, err := ParseRole("root"); err == nil || !strings.Contains(err.Error(), "viewer, operator, admin") {
		t.Errorf("unknown role: %v", err)
	}
	if _, _, err := NewToken("x", None, time.Now()); err == nil {
		t.Error("a token without a role")
	}
}

func TestCheck(t *testing.T) {
	src := &fakeSource{}
	a := New(src, nil)
	defer a.Close()
	ctx := context.Background()
	if req, _ := a.Required(ctx); req {
		t.Fatal("required with no token stored")
	}
	op, text := src.add(t, "ops", Operator)
	old, oldText := src.add(t, "old", Viewer)
	now := time.Now()
	src.tokens[1].RevokedAt = &now
	a.Invalidate()
	if req, _ := a.Required(ctx); !req {
		t.Fatal("not required with tokens stored")
	}
	id, err := a.Check(ctx, text)
	if err != nil || id.TokenID != op.ID || id.Role != Operator || id.Name != "ops" {
		t.Fatalf("check: %+v %v", id, err)
	}
	if _, err := a.Check(ctx, oldText); !errors.Is(err, ErrRevoked) || !strings.Contains(err.Error(), old.ID) {
		t.Errorf("revoked: %v", err)
	}
	if _, err := a.Check(ctx, "Bearer "+text); !errors.Is(err, ErrMalformed) {
		t.Errorf("malformed: %v", err)
	}
	wrong := text[:len(text)-1] + map[bool]string{true: "1", false: "0"}[text[len(text)-1] == '0']
	if _, err := a.Check(ctx, wrong); !errors.Is(err, ErrInvalid) {
		t.Errorf("wrong secret: %v", err)
	}
	_, unknown, _, _ := Generate()
	if _, err := a.Check(ctx, unknown); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown id: %v", err)
	}
	// A revoked token does not make tokens required.
	src.tokens[0].RevokedAt = &now
	a.Invalidate()
	if req, _ := a.Required(ctx); req {
		t.Error("required with every token revoked")
	}
	a.RequireAlways()
	if req, _ := a.Required(ctx); !req {
		t.Error("RequireAlways")
	}
}

func TestStoredTokensAreReadAtMostOncePerTTL(t *testing.T) {
	src := &fakeSource{}
	a := New(src, nil)
	defer a.Close()
	a.ttl = 200 * time.Millisecond
	_, text := src.add(t, "x", Viewer)
	ctx := context.Background()
	for range 100 {
		if _, err := a.Check(ctx, text); err != nil {
			t.Fatal(err)
		}
	}
	if src.reads != 1 {
		t.Fatalf("%d reads for 100 checks", src.reads)
	}
	_, later := src.add(t, "y", Viewer)
	if _, err := a.Check(ctx, later); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a token stored after the read is known before the TTL: %v", err)
	}
	time.Sleep(250 * time.Millisecond)
	if _, err := a.Check(ctx, later); err != nil {
		t.Fatalf("after the TTL: %v", err)
	}
}

func TestUsesAreRecordedAtMostOncePerInterval(t *testing.T) {
	src := &fakeSource{}
	a := New(src, nil)
	tok, text := src.add(t, "x", Viewer)
	for range 50 {
		if _, err := a.Check(context.Background(), text); err != nil {
			t.Fatal(err)
		}
	}
	a.Close() // records what is queued
	if len(src.touches) != 1 || src.touches[0] != tok.ID {
		t.Fatalf("touches %v", src.touches)
	}
	// After the interval, the next use is recorded again.
	b := New(src, nil)
	b.touched[tok.ID] = time.Now().Add(-TouchInterval)
	if _, err := b.Check(context.Background(), text); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if len(src.touches) != 2 {
		t.Fatalf("touches %v", src.touches)
	}
}
