// Package auth is the server's API tokens: their format, roles, and the
// Authenticator that checks a presented token against the stored ones.
//
// A token is "sy_<id>_<secret>": id is 12 hex digits naming the stored row,
// secret 64 hex digits (32 random bytes) of which only the SHA-256 is
// stored. The secret is compared in constant time. The stored tokens are
// read at most every CacheTTL, so a token created or revoked by another
// process (switchyard tokens …) counts within that time.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/backend/store"
)

// Role is what a token may do; each role may do everything the ones below it may.
type Role int

// The roles, least first.
const (
	// None is no role: what needs it is public.
	None Role = iota
	// Viewer reads and watches: GETs and WebSocket streams.
	Viewer
	// Operator also starts, pauses, resumes and cancels jobs and debugs
	// them (breakpoints, steps, variables, evaluate).
	Operator
	// Admin may do everything, flow changes and job deletion included.
	Admin
)

// Roles are the names of the roles a token may have, least first.
var Roles = []string{"viewer", "operator", "admin"}

func (r Role) String() string {
	switch r {
	case Viewer:
		return "viewer"
	case Operator:
		return "operator"
	case Admin:
		return "admin"
	}
	return "none"
}

// ParseRole reads a role's name.
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "viewer":
		return Viewer, nil
	case "operator":
		return Operator, nil
	case "admin":
		return Admin, nil
	}
	return None, fmt.Errorf("unknown role %q: want %s", s, strings.Join(Roles, ", "))
}

// Prefix starts every token.
const Prefix = "sy_"

const (
	idBytes     = 6
	secretBytes = 32
)

// Hash is the stored form of a secret. The secret is 32 random bytes, so
// a salted slow hash would add nothing: SHA-256 is enough.
func Hash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// Generate makes a new token: its id, the token as given to its holder
// (shown once) and the hash to store.
func Generate() (id, token string, hash []byte, err error) {
	b := make([]byte, idBytes+secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", nil, fmt.Errorf("generate token: %w", err)
	}
	id, secret := hex.EncodeToString(b[:idBytes]), hex.EncodeToString(b[idBytes:])
	return id, Prefix + id + "_" + secret, Hash(secret), nil
}

// Parse splits a token into its id and secret.
func Parse(token string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(token, Prefix)
	if !ok {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || len(id) != 2*idBytes || len(secret) != 2*secretBytes || !isHex(id) || !isHex(secret) {
		return "", "", false
	}
	return id, secret, true
}

func isHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// NewToken generates a token with name and role, ready to store, and the
// token text to give its holder.
func NewToken(name string, role Role, now time.Time) (store.Token, string, error) {
	if role == None {
		return store.Token{}, "", errors.New("a token needs a role")
	}
	id, token, hash, err := Generate()
	if err != nil {
		return store.Token{}, "", err
	}
	return store.Token{ID: id, Name: name, Role: role.String(), SecretHash: hash, CreatedAt: now.UTC()}, token, nil
}

// Errors of Check; their messages are shown to the client.
var (
	ErrMalformed = errors.New("the token is malformed (want sy_<id>_<secret>, as switchyard tokens create prints it)")
	ErrInvalid   = errors.New("the token is not valid (unknown, or its secret is wrong)")
	ErrRevoked   = errors.New("the token was revoked")
)

// Identity is who a valid token stands for.
type Identity struct {
	TokenID string
	Name    string
	Role    Role
}

// Source reads the stored tokens and records their use.
type Source interface {
	ListTokens(ctx context.Context) ([]store.Token, error)
	TouchToken(ctx context.Context, id string, at time.Time) error
}

// CacheTTL is how long the stored tokens are used before they are read again.
const CacheTTL = 2 * time.Second

// TouchInterval is how often, at most, a token's last_used_at is written.
const TouchInterval = time.Minute

// Authenticator checks tokens against a Source.
type Authenticator struct {
	src Source
	log *slog.Logger
	ttl time.Duration

	always atomic.Bool // every request needs a token, even with none stored

	mu   sync.Mutex // held while reading the source
	snap atomic.Pointer[snapshot]

	touchMu sync.Mutex
	touched map[string]time.Time // last use recorded, per token id
	touches chan touch
	quit    chan struct{}
	done    chan struct{}
	stop    sync.Once
}

type snapshot struct {
	at     time.Time
	byID   map[string]store.Token
	active int // tokens not revoked
}

type touch struct {
	id string
	at time.Time
}

// New returns an Authenticator over src; Close stops it.
func New(src Source, log *slog.Logger) *Authenticator {
	if log == nil {
		log = slog.Default()
	}
	a := &Authenticator{src: src, log: log, ttl: CacheTTL, touched: map[string]time.Time{},
		touches: make(chan touch, 64), quit: make(chan struct{}), done: make(chan struct{})}
	go a.recordUses()
	return a
}

// Close records the uses still queued and stops; the source is not
// used afterwards.
func (a *Authenticator) Close() {
	a.stop.Do(func() {
		close(a.quit)
		<-a.done
	})
}

// RequireAlways makes every request need a token, even while none is
// stored (a server reachable beyond loopback).
func (a *Authenticator) RequireAlways() { a.always.Store(true) }

// Invalidate makes the next check read the stored tokens again.
func (a *Authenticator) Invalidate() { a.snap.Store(nil) }

func (a *Authenticator) current(ctx context.Context) (*snapshot, error) {
	if s := a.snap.Load(); s != nil && time.Since(s.at) < a.ttl {
		return s, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.snap.Load(); s != nil && time.Since(s.at) < a.ttl {
		return s, nil // another request read them meanwhile
	}
	list, err := a.src.ListTokens(ctx)
	if err != nil {
		return nil, err
	}
	s := &snapshot{at: time.Now(), byID: make(map[string]store.Token, len(list))}
	for _, t := range list {
		s.byID[t.ID] = t
		if !t.Revoked() {
			s.active++
		}
	}
	a.snap.Store(s)
	return s, nil
}

// Required reports whether requests need a token: always beyond loopback,
// else once any token that is not revoked exists.
func (a *Authenticator) Required(ctx context.Context) (bool, error) {
	if a.always.Load() {
		return true, nil
	}
	s, err := a.current(ctx)
	if err != nil {
		return false, err
	}
	return s.active > 0, nil
}

// HasTokens reports whether a token that is not revoked is stored.
func (a *Authenticator) HasTokens(ctx context.Context) (bool, error) {
	s, err := a.current(ctx)
	if err != nil {
		return false, err
	}
	return s.active > 0, nil
}

// Check returns the identity of a token, or ErrMalformed, ErrInvalid,
// ErrRevoked, or an error reading the source.
func (a *Authenticator) Check(ctx context.Context, token string) (Identity, error) {
	id, secret, ok := Parse(token)
	if !ok {
		return Identity{}, ErrMalformed
	}
	s, err := a.current(ctx)
	if err != nil {
		return Identity{}, err
	}
	t, found := s.byID[id]
	hash := Hash(secret)
	if !found {
		t.SecretHash = make([]byte, len(hash)) // compare anyway: the same time for an unknown id
	}
	if subtle.ConstantTimeCompare(hash, t.SecretHash) != 1 || !found {
		return Identity{}, ErrInvalid
	}
	if t.Revoked() {
		return Identity{}, fmt.Errorf("%w (token %s, %q)", ErrRevoked, t.ID, t.Name)
	}
	role, err := ParseRole(t.Role)
	if err != nil {
		return Identity{}, fmt.Errorf("token %s: %w", t.ID, err)
	}
	a.used(t.ID)
	return Identity{TokenID: t.ID, Name: t.Name, Role: role}, nil
}

// used records a use of the token at most every TouchInterval, off the
// request's path: a full queue skips the record.
func (a *Authenticator) used(id string) {
	now := time.Now()
	a.touchMu.Lock()
	last, ok := a.touched[id]
	due := !ok || now.Sub(last) >= TouchInterval
	if due {
		a.touched[id] = now
	}
	a.touchMu.Unlock()
	if !due {
		return
	}
	select {
	case a.touches <- touch{id, now}:
	case <-a.quit:
	default:
		a.touchMu.Lock()
		delete(a.touched, id) // try again on its next use
		a.touchMu.Unlock()
	}
}

func (a *Authenticator) recordUses() {
	defer close(a.done)
	for {
		select {
		case t := <-a.touches:
			a.record(t)
		case <-a.quit:
			for {
				select {
				case t := <-a.touches:
					a.record(t)
				default:
					return
				}
			}
		}
	}
}

func (a *Authenticator) record(t touch) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.src.TouchToken(ctx, t.id, t.at); err != nil {
		a.log.Warn("record a token's use", "token", t.id, "err", err)
	}
}
