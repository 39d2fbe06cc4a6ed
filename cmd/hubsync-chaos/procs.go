package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hubsync/hubsync"
)

// buildHubsync builds the hubsync command into dir and returns its path. The go command on PATH
// builds it from the module this command is part of.
func buildHubsync(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "hubsync")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/hubsync/hubsync/cmd/hubsync")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building hubsync: %v\n%s", err, out)
	}
	return bin, nil
}

// hubsyncCmd runs the hubsync command with the flags that point it at the fakes and the store.
type hubsyncCmd struct {
	bin   string
	dir   string
	flags []string
}

// command returns the command for args, the subcommand's words first, then its own flags; the
// common flags go between the two.
func (h *hubsyncCmd) command(ctx context.Context, args ...string) *exec.Cmd {
	i := 0
	for i < len(args) && !strings.HasPrefix(args[i], "-") {
		i++
	}
	full := append(append(append([]string{}, args[:i]...), h.flags...), args[i:]...)
	cmd := exec.CommandContext(ctx, h.bin, full...)
	cmd.Dir = h.dir
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HUBSYNC_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	return cmd
}

// run runs a subcommand to completion; the error carries its output.
func (h *hubsyncCmd) run(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := h.command(ctx, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("hubsync %s: %v\n%s", args[0], err, out)
	}
	return string(out), nil
}

// status reads the school's status from the store ("hubsync status --json", not serve's
// /status, which an admin token may guard).
func (h *hubsyncCmd) status(ctx context.Context) (hubsync.SchoolStatus, error) {
	var st hubsync.SchoolStatus
	out, err := h.run(ctx, "status", "--json")
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &st)
}

// server is the "hubsync serve" process, restarted on the same address after each kill so the
// webhook relays' target stays valid.
type server struct {
	h      *hubsyncCmd
	listen string
	args   []string
	log    *os.File

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	starts int
	kills  int
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// base is the server's URL.
func (s *server) base() string { return "http://" + s.listen }

// start starts the server (its output appended to the log file) and waits until /healthz
// answers 200, for at most 30 s.
func (s *server) start(ctx context.Context) error {
	s.mu.Lock()
	cmd := s.h.command(context.WithoutCancel(ctx), append([]string{"serve", "--listen", s.listen}, s.args...)...)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("starting hubsync serve: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	s.starts++
	s.mu.Unlock()
	return s.waitHealthy(ctx, exited, 30*time.Second)
}

func (s *server) waitHealthy(ctx context.Context, exited chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		resp, err := c.Get(s.base() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("hubsync serve exited while starting (see its log)")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("hubsync serve was not healthy within %s", limit)
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.kills++
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// stop shuts the server down with SIGINT (SIGKILL after 15 s).
func (s *server) stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// running reports whether the server process is up.
func (s *server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}
