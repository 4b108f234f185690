// Command realm-server runs Realm's OpenAI-compatible HTTP server (package
// server) without Python:
//
//	realm-server --model smol=SmolLM2.gguf [--model ...] [--host 127.0.0.1] [--port 8000] [--api-keys FILE]
//
// SIGINT or SIGTERM shuts it down gracefully (see docs/deploy.md).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/realm-ai/realm/server"
)

// modelFlags collects repeated --model flags.
type modelFlags []server.ModelSpec

func (m *modelFlags) String() string {
	parts := make([]string, len(*m))
	for i, s := range *m {
		parts[i] = s.ID + "=" + s.Path
	}
	return strings.Join(parts, ",")
}

func (m *modelFlags) Set(v string) error {
	spec, err := server.ParseModelSpec(v)
	if err != nil {
		return err
	}
	*m = append(*m, spec)
	return nil
}

func main() {
	var cfg server.Config
	var models modelFlags
	var shutdown time.Duration
	flag.Var(&models, "model", "NAME=PATH of a GGUF model to serve (repeatable)")
	flag.StringVar(&cfg.Host, "host", "127.0.0.1", "address to listen on")
	flag.IntVar(&cfg.Port, "port", 8000, "port to listen on (0: a free one)")
	flag.StringVar(&cfg.APIKeysFile, "api-keys", "", "API key file (lines \"KEY TENANT [GUEST.wasm]\"); none: auth off")
	flag.IntVar(&cfg.Threads, "threads", 0, "threads per forward pass (0: all cores)")
	flag.IntVar(&cfg.ContextLength, "context-length", 0, "context window in tokens (0: the model's, capped)")
	flag.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", server.DefaultMaxBodyBytes, "largest request body")
	flag.DurationVar(&shutdown, "shutdown-timeout", server.DefaultShutdownTimeout, "how long requests in flight may finish at shutdown")
	flag.BoolVar(&cfg.LogRequests, "verbose", false, "log every request")
	flag.Parse()
	cfg.Models = models
	cfg.ShutdownTimeoutMs = int(shutdown.Milliseconds())
	in, err := server.Start(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "realm-server: %v\n", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	s := <-sig
	fmt.Fprintf(os.Stderr, "realm-server: %v: shutting down\n", s)
	if err := in.Shutdown(0); err != nil {
		fmt.Fprintf(os.Stderr, "realm-server: shutdown: %v\n", err)
		os.Exit(1)
	}
}
