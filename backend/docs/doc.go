// Package docs holds no code, only tests that keep the documents in docs/
// true: the commands of docs/getting-started.md run against a real server
// through the switchyard command (cli.Run), and docs/flows.md describes
// every routine kind and config field of GET /api/routines with examples
// that run.
package docs
