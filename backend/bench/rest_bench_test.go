package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/server"
)

// restClients is how many connections load the server at once, as wrk -c 32.
const restClients = 32

// restServer runs a real server (a fresh database, the chain flow stored)
// on a loopback port and returns its URL.
func restServer(b *testing.B) string {
	b.Helper()
	srv, err := server.New(context.Background(), server.Config{
		Addr: "127.0.0.1:0", DataDir: b.TempDir(), Logger: slog.New(slog.DiscardHandler), Version: "bench",
	})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler}
	go func() { _ = hs.Serve(ln) }()
	b.Cleanup(func() {
		_ = hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
	url := "http://" + ln.Addr().String()
	resp, err := http.Post(url+"/api/flows", "application/yaml", bytes.NewBufferString(ChainYAML()))
	if err != nil || resp.StatusCode != http.StatusCreated {
		b.Fatalf("create the chain flow: %v %v", err, resp)
	}
	resp.Body.Close()
	return url
}

// load runs b.N requests over restClients connections and reports req/s,
// CPU per request and the share answered with want.
func load(b *testing.B, do func(c *http.Client) (int, error), want int) {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: restClients, MaxConnsPerHost: restClients}
	c := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	var next, bad atomic.Int64
	var wg sync.WaitGroup
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	for range restClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				code, err := do(c)
				if err != nil || code != want {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := bad.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed or got another status than %d", n, b.N, want)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/req")
	b.ReportMetric(0, "ns/op")
}

func request(c *http.Client, method, url, body string) (int, error) {
	req, err := http.NewRequest(method, url, bytes.NewBufferString(body))
	if err != nil {
		return 0, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// BenchmarkRESTHealth is the server's HTTP ceiling on this machine:
// GET /api/health over 32 connections.
func BenchmarkRESTHealth(b *testing.B) {
	url := restServer(b) + "/api/health"
	load(b, func(c *http.Client) (int, error) { return request(c, http.MethodGet, url, "") }, http.StatusOK)
}

// BenchmarkRESTStartJobs starts jobs of the 10-routine chain through
// POST /api/jobs over 32 connections; each answer waits until the job's
// job_started is stored.
func BenchmarkRESTStartJobs(b *testing.B) {
	url := restServer(b) + "/api/jobs"
	var n atomic.Int64
	load(b, func(c *http.Client) (int, error) {
		return request(c, http.MethodPost, url, fmt.Sprintf(`{"flow_id": "chain", "params": {"value": %d}}`, n.Add(1)))
	}, http.StatusCreated)
}

// BenchmarkRESTRunJobs runs jobs synchronously: POST /api/jobs?wait=30s
// answers when the job has ended (Node-RED's http-in → http-response).
func BenchmarkRESTRunJobs(b *testing.B) {
	url := restServer(b) + "/api/jobs?wait=30s"
	var n atomic.Int64
	load(b, func(c *http.Client) (int, error) {
		return request(c, http.MethodPost, url, fmt.Sprintf(`{"flow_id": "chain", "params": {"value": %d}}`, n.Add(1)))
	}, http.StatusCreated)
}
