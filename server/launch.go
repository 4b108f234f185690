package server

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/registry"
)

// ModelSpec names a model file to serve.
type ModelSpec struct {
	// ID is the model's name in the API ("model" of a request).
	ID string `json:"id"`
	// Path is the GGUF file.
	Path string `json:"path"`
}

// Config configures Start: the models, the address and the options of
// the server. Its JSON form is the options of realm_server_start.
type Config struct {
	Models []ModelSpec `json:"models"`
	// Host and Port are the address to listen on (Host "" is 127.0.0.1;
	// Port 0 picks a free port, see Instance.Addr).
	Host string `json:"host"`
	Port int    `json:"port"`
	// APIKeysFile is a key file (see LoadKeys); "" turns authentication off.
	APIKeysFile string `json:"api_keys_file"`
	// Threads and ContextLength are the models' load options (0: defaults).
	Threads       int `json:"threads"`
	ContextLength int `json:"context_length"`
	// MaxBodyBytes caps request bodies (0: DefaultMaxBodyBytes).
	MaxBodyBytes int64 `json:"max_body_bytes"`
	// ShutdownTimeoutMs bounds the wait for requests in flight at shutdown
	// (0: DefaultShutdownTimeout).
	ShutdownTimeoutMs int `json:"shutdown_timeout_ms"`
	// LogRequests logs a line per request to stderr.
	LogRequests bool `json:"log_requests"`
	// Quiet silences the startup messages.
	Quiet bool `json:"quiet"`
}

// ParseModelSpec parses "NAME=PATH", or "PATH" (the name is then the file
// name without its directory and ".gguf").
func ParseModelSpec(s string) (ModelSpec, error) {
	if s == "" {
		return ModelSpec{}, fmt.Errorf("%w: empty model", errs.ErrInvalidArgument)
	}
	if id, path, ok := strings.Cut(s, "="); ok {
		if id == "" || path == "" {
			return ModelSpec{}, fmt.Errorf("%w: model %q: want NAME=PATH", errs.ErrInvalidArgument, s)
		}
		return ModelSpec{ID: id, Path: path}, nil
	}
	base := s[strings.LastIndexByte(s, '/')+1:]
	return ModelSpec{ID: strings.TrimSuffix(base, ".gguf"), Path: s}, nil
}

// Instance is a server started by Start: its registry, listener and
// serving goroutine.
type Instance struct {
	// Server is the running server.
	Server *Server
	reg    *registry.Registry
	ln     net.Listener
	keys   *Keys
	done   chan error
}

// Start loads cfg's models into a new registry, reads the key file,
// listens on cfg's address and serves in the background until Shutdown.
// It logs to stderr where it serves and whether authentication is on.
func Start(cfg Config) (*Instance, error) {
	if len(cfg.Models) == 0 {
		return nil, fmt.Errorf("%w: server: no model to serve", errs.ErrInvalidArgument)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("%w: server: port %d out of range", errs.ErrInvalidArgument, cfg.Port)
	}
	if cfg.MaxBodyBytes < 0 || cfg.ShutdownTimeoutMs < 0 {
		return nil, fmt.Errorf("%w: server: negative max_body_bytes or shutdown_timeout_ms", errs.ErrInvalidArgument)
	}
	logger := log.New(os.Stderr, "", 0)
	var keys *Keys
	if cfg.APIKeysFile != "" {
		var err error
		if keys, err = LoadKeys(cfg.APIKeysFile); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	reg, err := registry.NewRegistry(registry.Options{Threads: cfg.Threads, ContextLength: cfg.ContextLength})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	for _, m := range cfg.Models {
		if err := reg.LoadFile(m.ID, m.Path, registry.LoadOptions{}); err != nil {
			reg.Close()
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	host := cfg.Host
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(cfg.Port)))
	if err != nil {
		reg.Close()
		return nil, fmt.Errorf("%w: server: listen: %v", errs.ErrInvalidArgument, err)
	}
	srv := New(reg, Options{
		Keys: keys, MaxBodyBytes: cfg.MaxBodyBytes,
		ShutdownTimeout: time.Duration(cfg.ShutdownTimeoutMs) * time.Millisecond,
		Log:             logger, LogRequests: cfg.LogRequests,
	})
	in := &Instance{Server: srv, reg: reg, ln: ln, keys: keys, done: make(chan error, 1)}
	go func() { in.done <- srv.Serve(ln) }()
	if !cfg.Quiet {
		if keys == nil {
			logger.Printf("realm: authentication is OFF (no --api-keys file): every client is accepted")
		} else {
			logger.Printf("realm: authentication is on: %d tenant(s) from %s", keys.Tenants(), cfg.APIKeysFile)
		}
		ids := make([]string, len(cfg.Models))
		for i, m := range cfg.Models {
			ids[i] = m.ID
		}
		logger.Printf("realm: serving %s on http://%s/v1", strings.Join(ids, ", "), in.Addr())
	}
	return in, nil
}

// Addr is the address the server listens on ("host:port").
func (in *Instance) Addr() string { return in.ln.Addr().String() }

// Auth reports whether API keys are required.
func (in *Instance) Auth() bool { return in.keys != nil }

// Shutdown stops the server gracefully (see Server.Shutdown; timeout, when
// positive, replaces the configured bound) and unloads the models.
// It is idempotent.
func (in *Instance) Shutdown(timeout time.Duration) error {
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	err := in.Server.Shutdown(ctx)
	if serveErr := <-in.done; serveErr != nil && err == nil {
		err = serveErr
	}
	in.done <- nil // later calls do not block
	in.reg.Close()
	return err
}

// Models returns the ids of the models served.
func (in *Instance) Models() ([]string, error) {
	models, err := in.reg.Models()
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	ids := make([]string, len(models))
	for i, m := range models {
		ids[i] = m.ID
	}
	return ids, nil
}
