package main

/*
#include <stdlib.h>
#include "realm.h"

typedef const char realm_cchar_t;
*/
import "C"

import (
	"fmt"
	"time"
	"unsafe"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/registry"
	"github.com/realm-ai/realm/server"
)

// The OpenAI-compatible HTTP server (package server) behind the
// realm_server_* functions. The Go logic is in the serverX functions,
// which tests call directly.

// serverInfoJSON is the result of realm_server_info.
type serverInfoJSON struct {
	Address string   `json:"address"`
	Auth    bool     `json:"auth"`
	Models  []string `json:"models"`
}

func serverStart(optionsJSON string) (unsafe.Pointer, error) {
	var cfg server.Config
	if err := registry.Decode("options", []byte(optionsJSON), &cfg); err != nil {
		return nil, err
	}
	in, err := server.Start(cfg)
	if err != nil {
		return nil, err
	}
	return newHandle(in), nil
}

func serverInfo(h unsafe.Pointer) (string, error) {
	in, _, err := lookup[*server.Instance](h, "server")
	if err != nil {
		return "", err
	}
	ids, err := in.Models()
	if err != nil {
		return "", err
	}
	return encode(serverInfoJSON{Address: in.Addr(), Auth: in.Auth(), Models: ids})
}

func serverShutdown(h unsafe.Pointer, timeoutMs int) error {
	in, _, err := lookup[*server.Instance](h, "server")
	if err != nil {
		return err
	}
	if timeoutMs < 0 {
		return fmt.Errorf("%w: timeout_ms = %d, want >= 0", errs.ErrInvalidArgument, timeoutMs)
	}
	return in.Shutdown(time.Duration(timeoutMs) * time.Millisecond)
}

func serverFree(h unsafe.Pointer) error {
	in, err := release[*server.Instance](h, "server")
	if err != nil {
		return err
	}
	return in.Shutdown(time.Millisecond)
}

//export realm_server_start
func realm_server_start(optionsJSON *C.realm_cchar_t, out *C.realm_server_t, errp **C.char) C.int {
	return run(errp, func() error {
		if err := needOut(unsafe.Pointer(out), "out"); err != nil {
			return err
		}
		opts, err := needString(optionsJSON, "options_json")
		if err != nil {
			return err
		}
		h, err := serverStart(opts)
		if err != nil {
			return err
		}
		*out = C.realm_server_t(h)
		return nil
	})
}

//export realm_server_info
func realm_server_info(s C.realm_server_t, infoJSON **C.char, errp **C.char) C.int {
	return runString(errp, infoJSON, "info_json", func() (string, error) {
		return serverInfo(unsafe.Pointer(s))
	})
}

//export realm_server_shutdown
func realm_server_shutdown(s C.realm_server_t, timeoutMs C.int, errp **C.char) C.int {
	return run(errp, func() error { return serverShutdown(unsafe.Pointer(s), int(timeoutMs)) })
}

//export realm_server_free
func realm_server_free(s C.realm_server_t) C.int {
	return run(nil, func() error { return serverFree(unsafe.Pointer(s)) })
}
