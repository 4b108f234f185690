package registry

import (
	"context"
	"sync"

	"github.com/realm-ai/realm/engine"
	"github.com/realm-ai/realm/engine/sandbox"
)

// Guest selects a Realm's sandbox guest: the WebAssembly module that
// chooses each generated token (see package sandbox and docs/guest-abi.md).
// The zero Guest is the default guest, which gives the same tokens as the
// engine's native sampler.
type Guest struct {
	// Wasm is the guest module; nil means the default guest.
	Wasm []byte
	// Config is handed to the guest verbatim (its "config" import).
	Config []byte
}

// sandboxHost is the process's sandbox host: one wazero runtime and a
// cache of compiled modules shared by every Realm. It lives as long as the
// process.
var sandboxHost = sync.OnceValue(func() *sandbox.Host { return sandbox.NewHost(sandbox.Config{}) })

// compile returns the guest's compiled module (cached by the host by the
// SHA-256 of its bytes). Invalid modules fail with errs.ErrSandbox.
func (g Guest) compile() (*sandbox.Module, error) {
	if g.Wasm == nil {
		return sandboxHost().DefaultModule()
	}
	return sandboxHost().Compile(g.Wasm)
}

// instantiate creates an instance of mod bound to m's vocabulary.
func instantiate(mod *sandbox.Module, m *engine.Model, config []byte) (*sandbox.Instance, error) {
	return mod.Instantiate(context.Background(), m.Vocabulary(), config)
}
