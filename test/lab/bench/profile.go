package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// With -cpuprofile the service gets PPROF_ADDR (its opt-in profiler listener, on a
// free loopback port), and the harness saves a CPU profile of the service while it
// serves the HTTP runs at concurrency 8 of the first round:
//
//	go tool pprof -top test/lab/bench/out/cpu-place-c8.pprof

// profileWorkers is the concurrency whose runs are profiled.
const profileWorkers = 8

// startProfile fetches a CPU profile of the service (of the CRUD server when crud) for
// about d in the background; the returned function waits for it and writes it to
// out/cpu-<name>.pprof.
func (env *environment) startProfile(ctx context.Context, name string, d time.Duration, crud bool) func() {
	addr := env.pprofAddr
	if crud {
		addr = env.crudPprof
	}
	if addr == "" {
		return func() {}
	}
	secs := max(1, int(d/time.Second))
	path := filepath.Join(env.cfg.outDir, "cpu-"+name+".pprof")
	done := make(chan error, 1)
	go func() {
		done <- fetchProfile(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs), path)
	}()
	return func() {
		if err := <-done; err != nil {
			logf("CPU profile %s: %v", name, err)
			return
		}
		logf("CPU profile of the service: %s (go tool pprof -top %s)", path, path)
		env.profiles = append(env.profiles, path)
	}
}

func fetchProfile(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return fmt.Errorf("%s: %s %s (does this service build have PPROF_ADDR?)", url, resp.Status, b)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
