package sandbox

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// defaultWasm is the default guest, built from guest/default/policy.c by
// guest/build.sh (make guest). TestDefaultGuestIsFresh checks it against
// a fresh build.
//
//go:embed default.wasm
var defaultWasm []byte

// DefaultWasm returns a copy of the default guest's bytes.
func DefaultWasm() []byte { return slices.Clone(defaultWasm) }

// Defaults of Config.
const (
	// DefaultMemoryLimitPages caps an instance's memory at 4 MiB.
	DefaultMemoryLimitPages = 64
	// MaxModuleSize is the largest module Compile accepts: compilation
	// time grows with size, and guests are small (the default is ~3 KiB).
	MaxModuleSize = 16 << 20
	// DefaultDeadline is the guest time a request (or an instantiation)
	// may use. Honest guests need microseconds per token.
	DefaultDeadline = 2 * time.Second
)

// Config tunes a Host.
type Config struct {
	// MemoryLimitPages caps each instance's linear memory, in 64 KiB pages
	// (at most 65536). 0 means DefaultMemoryLimitPages. A module whose
	// declared minimum or maximum exceeds it does not compile; growth past
	// it fails inside the guest (memory.grow returns -1).
	MemoryLimitPages uint32
	// Deadline is the guest execution time allowed per request (Begin and
	// every Step until End, summed) and per instantiation (the module's
	// start function included). 0 means DefaultDeadline.
	Deadline time.Duration
	// Log receives the guests' debug lines (the "log" import) with the
	// module's id; nil discards them.
	Log func(module, line string)
}

// Host runs guests: one wazero runtime, the host module "realm", and a
// cache of compiled modules keyed by the SHA-256 of their bytes. It is
// safe for concurrent use; one Host per process is the intended use.
type Host struct {
	cfg Config
	rt  wazero.Runtime

	mu      sync.Mutex
	modules map[[32]byte]*compileEntry
	closed  bool
}

// compileEntry lets concurrent Compile calls of the same bytes share one
// compilation.
type compileEntry struct {
	done chan struct{}
	mod  *Module
	err  error
}

// NewHost returns a Host with cfg (zero fields take their defaults).
func NewHost(cfg Config) *Host {
	if cfg.MemoryLimitPages == 0 || cfg.MemoryLimitPages > 65536 {
		cfg.MemoryLimitPages = DefaultMemoryLimitPages
	}
	if cfg.Deadline <= 0 {
		cfg.Deadline = DefaultDeadline
	}
	rc := wazero.NewRuntimeConfig().
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(cfg.MemoryLimitPages).
		WithCoreFeatures(api.CoreFeaturesV2)
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	h := &Host{cfg: cfg, rt: rt, modules: map[[32]byte]*compileEntry{}}
	if err := h.instantiateImports(ctx); err != nil {
		// Only a bug can make the fixed host module fail.
		panic(fmt.Sprintf("sandbox: host module: %v", err))
	}
	return h
}

// Config returns the host's configuration with defaults filled in.
func (h *Host) Config() Config { return h.cfg }

// Close closes every module and instance of the host. It is idempotent.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.modules = nil
	h.mu.Unlock()
	if err := h.rt.Close(ctx); err != nil {
		return fmt.Errorf("%w: sandbox: close: %v", errs.ErrSandbox, err)
	}
	return nil
}

func (h *Host) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// DefaultModule returns the compiled default guest.
func (h *Host) DefaultModule() (*Module, error) {
	return h.Compile(defaultWasm)
}

// Compile validates and compiles a guest module, or returns the module
// already compiled from the same bytes. Invalid bytes, imports other than
// the "realm" functions, missing or mistyped exports and memory over the
// cap give an *Error (errs.ErrSandbox). The bytes are not retained.
func (h *Host) Compile(wasm []byte) (*Module, error) {
	sum := sha256.Sum256(wasm)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, fmt.Errorf("%w: sandbox host", errs.ErrClosed)
	}
	if e, ok := h.modules[sum]; ok {
		h.mu.Unlock()
		<-e.done
		return e.mod, e.err
	}
	e := &compileEntry{done: make(chan struct{})}
	h.modules[sum] = e
	h.mu.Unlock()

	e.mod, e.err = h.compile(wasm, sum)
	close(e.done)
	if e.err != nil {
		// Failures are not cached: the map only holds working modules.
		h.mu.Lock()
		if h.modules != nil {
			delete(h.modules, sum)
		}
		h.mu.Unlock()
	}
	return e.mod, e.err
}

func (h *Host) compile(wasm []byte, sum [32]byte) (*Module, error) {
	id := hex.EncodeToString(sum[:6])
	fail := func(k Kind, format string, a ...any) error {
		return &Error{Kind: k, Module: id, Op: "compile", Detail: fmt.Sprintf(format, a...)}
	}
	if len(wasm) > MaxModuleSize {
		return nil, fail(KindInvalidModule, "module of %d bytes, the limit is %d", len(wasm), MaxModuleSize)
	}
	info, err := parseWasm(wasm)
	if err != nil {
		var limit *limitError
		switch {
		case !isWasm(wasm):
			return nil, fail(KindInvalidModule, "not a WebAssembly module (%d bytes; bad magic or version)", len(wasm))
		case errors.As(err, &limit):
			return nil, fail(KindMemoryLimit, "%v", err)
		}
		return nil, fail(KindInvalidModule, "%v", err)
	}
	for _, imp := range info.imports {
		if imp.module != ImportModule || imp.kind != 0 {
			return nil, fail(KindImport, "import %q.%q (%s) is not offered: a guest may import only functions of module %q",
				imp.module, imp.name, kindName(imp.kind), ImportModule)
		}
		if _, ok := importSigs[imp.name]; !ok {
			return nil, fail(KindImport, "import %q.%q is not offered by ABI version %d (offered: %s)",
				imp.module, imp.name, ABIVersion, strings.Join(sortedKeys(importSigs), ", "))
		}
	}
	limit := uint64(h.cfg.MemoryLimitPages)
	if info.hasMemory && info.memMin > limit {
		return nil, fail(KindMemoryLimit, "memory declares %d initial pages, the cap is %d pages (%d KiB)",
			info.memMin, limit, limit*64)
	}
	if info.hasMemory && info.hasMax && info.memMax > limit {
		return nil, fail(KindMemoryLimit, "memory declares a maximum of %d pages, the cap is %d pages (%d KiB): build without a maximum or with one under the cap",
			info.memMax, limit, limit*64)
	}

	ctx := context.Background()
	compiled, err := h.rt.CompileModule(ctx, info.stripped)
	if err != nil {
		return nil, fail(KindInvalidModule, "%s", firstLine(err.Error()))
	}
	ok := false
	defer func() {
		if !ok {
			compiled.Close(ctx)
		}
	}()
	for _, f := range compiled.ImportedFunctions() {
		mod, name, _ := f.Import()
		want := importSigs[name]
		if !sameTypes(f.ParamTypes(), want.params) || !sameTypes(f.ResultTypes(), want.results) {
			return nil, fail(KindImport, "import %q.%q has type %s, the host offers %s",
				mod, name, sigString(f.ParamTypes(), f.ResultTypes()), sigString(want.params, want.results))
		}
	}
	if _, ok := compiled.ExportedMemories()["memory"]; !ok {
		return nil, fail(KindExport, `the module does not export its memory as "memory"`)
	}
	exported := compiled.ExportedFunctions()
	for _, name := range exportOrder {
		want := exportSigs[name]
		f, ok := exported[name]
		if !ok {
			return nil, fail(KindExport, "missing export %q %s", name, sigString(want.params, want.results))
		}
		if !sameTypes(f.ParamTypes(), want.params) || !sameTypes(f.ResultTypes(), want.results) {
			return nil, fail(KindExport, "export %q has type %s, want %s",
				name, sigString(f.ParamTypes(), f.ResultTypes()), sigString(want.params, want.results))
		}
	}
	ok = true
	return &Module{host: h, compiled: compiled, id: id}, nil
}

// Module is a compiled guest. It is safe for concurrent use; instantiate
// it once per Realm.
type Module struct {
	host     *Host
	compiled wazero.CompiledModule
	id       string
}

// ID returns the first 12 hex digits of the SHA-256 of the module's bytes.
func (m *Module) ID() string { return m.id }

func sameTypes(a, b []api.ValueType) bool { return slices.Equal(a, b) }

func sigString(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("(%s) -> (%s)", names(params), names(results))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// firstLine returns s up to its first newline (wazero appends stack traces).
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
