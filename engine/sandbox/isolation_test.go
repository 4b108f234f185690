package sandbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/sample"
	"github.com/stretchr/testify/require"
)

// requireSandboxError checks err is an *Error of kind k, wrapping
// errs.ErrSandbox, whose message contains every detail.
func requireSandboxError(t *testing.T, err error, k Kind, details ...string) *Error {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, errs.ErrSandbox)
	var se *Error
	require.True(t, errors.As(err, &se), "%T: %v", err, err)
	require.Equal(t, k, se.Kind, "%v", err)
	for _, d := range details {
		require.Contains(t, err.Error(), d)
	}
	for _, other := range []error{errs.ErrCancelled, errs.ErrInvalidArgument, errs.ErrClosed} {
		require.NotErrorIs(t, err, other)
	}
	return se
}

func modeParams(mode uint64) sample.Params {
	p := sample.DefaultParams()
	p.Seed = mode
	return p
}

var testCands = []sample.Candidate{{ID: 7, Logit: 3}, {ID: 3, Logit: 2}, {ID: 50, Logit: -1}}

func TestHostileGuestFailsCleanly(t *testing.T) {
	const deadline = 300 * time.Millisecond
	var logMu sync.Mutex
	var logged []string
	h := newTestHost(t, Config{Deadline: deadline, Log: func(module, line string) {
		logMu.Lock()
		defer logMu.Unlock()
		logged = append(logged, module+": "+line)
	}})
	vocab := newFakeVocab(100)
	mod, err := h.Compile(testdataWasm(t, "hostile"))
	require.NoError(t, err)
	ctx := context.Background()
	in, err := mod.Instantiate(ctx, vocab, nil)
	require.NoError(t, err)
	defer in.Close()
	bystander := defaultInstance(t, h, vocab)
	p := sample.DefaultParams()
	p.Temperature = 0
	require.NoError(t, bystander.Begin(ctx, p, []int32{1, 2}))

	cases := []struct {
		mode    uint64
		kind    Kind
		details []string
	}{
		{1, KindTrap, []string{"realm_step", "unreachable"}},
		{2, KindDeadline, []string{"realm_step", "budget of 300ms per request"}},
		{3, KindTrap, []string{"integer divide by zero"}},
		{4, KindTrap, []string{"out of bounds memory access"}},
		{5, KindTrap, []string{"stack overflow"}},
		{6, KindBadResult, []string{"token id 100, outside the vocabulary [0, 100)"}},
		{7, KindGuestError, []string{"error code -5"}},
		{8, KindTrap, []string{"out of bounds memory access", "memory at its cap of 64 pages"}},
		{9, KindBadResult, []string{"realm.log", "outside guest memory"}},
		{10, KindBadResult, []string{"realm.token_piece", "outside guest memory"}},
		{12, KindTrap, []string{"unreachable", `last guest log: "hostile guest here"`}},
		{13, KindBadResult, []string{"realm.logits", "n = 2147483647"}},
		{14, KindGuestError, []string{"error code -2147483648"}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("mode%d", c.mode), func(t *testing.T) {
			require.NoError(t, in.Begin(ctx, modeParams(c.mode), []int32{1, 2, 3}))
			start := time.Now()
			_, _, err := in.Step(testCands, nil)
			requireSandboxError(t, err, c.kind, c.details...)
			if c.kind == KindDeadline {
				// Only the deadline case promises a time; traps such as a
				// stack overflow take as long as the recursion does (seconds
				// under -race on a loaded machine).
				require.Less(t, time.Since(start), deadline+2*time.Second)
			}
			// The request is over: another Step is a caller error.
			_, _, err = in.Step(testCands, nil)
			require.ErrorIs(t, err, errs.ErrInvalidArgument)

			// Another Realm's instance is unaffected.
			id, stop, err := bystander.Step(testCands, nil)
			require.NoError(t, err)
			require.False(t, stop)
			require.Equal(t, int32(7), id)

			// The next request re-instantiates the failed guest, which works.
			require.NoError(t, in.Begin(ctx, modeParams(0), nil))
			id, stop, err = in.Step(testCands, nil)
			require.NoError(t, err)
			require.False(t, stop)
			require.Equal(t, int32(7), id)
			in.End()
		})
	}

	// The guest's debug line reached the host's log, tagged with the module.
	logMu.Lock()
	require.Equal(t, []string{mod.ID() + ": hostile guest here"}, logged)
	logMu.Unlock()
	require.Len(t, mod.ID(), 12)

	// Mode 11 stops generation: not an error.
	require.NoError(t, in.Begin(ctx, modeParams(11), nil))
	_, stop, err := in.Step(testCands, nil)
	require.NoError(t, err)
	require.True(t, stop)

	// Failures inside realm_begin.
	requireSandboxError(t, in.Begin(ctx, modeParams(20), nil), KindGuestError, "realm_begin", "error code -7")
	start := time.Now()
	requireSandboxError(t, in.Begin(ctx, modeParams(21), nil), KindDeadline, "realm_begin")
	require.Less(t, time.Since(start), deadline+2*time.Second)
	require.NoError(t, in.Begin(ctx, modeParams(0), nil))
}

// TestDeadlineIsPerRequest: the budget is the guest time of a whole
// request, summed over its steps, and a new request starts afresh.
func TestDeadlineIsPerRequest(t *testing.T) {
	h := newTestHost(t, Config{Deadline: 150 * time.Millisecond})
	mod, err := h.Compile(testdataWasm(t, "hostile"))
	require.NoError(t, err)
	ctx := context.Background()
	in, err := mod.Instantiate(ctx, newFakeVocab(100), nil)
	require.NoError(t, err)
	defer in.Close()
	for range 2 {
		require.NoError(t, in.Begin(ctx, modeParams(15), nil)) // each step is busy for a while
		ok := 0
		var err error
		for range 1000 {
			if _, _, err = in.Step(testCands, nil); err != nil {
				break
			}
			ok++
		}
		requireSandboxError(t, err, KindDeadline, "budget of 150ms")
		require.Greater(t, ok, 0, "a step fits in the budget")
		require.Less(t, ok, 1000)
		t.Logf("%d steps fit in the budget", ok)
	}
}

func TestCancellationStopsTheGuest(t *testing.T) {
	h := newTestHost(t, Config{Deadline: time.Minute})
	mod, err := h.Compile(testdataWasm(t, "hostile"))
	require.NoError(t, err)
	in, err := mod.Instantiate(context.Background(), newFakeVocab(100), nil)
	require.NoError(t, err)
	defer in.Close()

	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, in.Begin(ctx, modeParams(2), nil)) // endless loop in realm_step
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, _, err = in.Step(testCands, nil)
	require.ErrorIs(t, err, errs.ErrCancelled)
	require.NotErrorIs(t, err, errs.ErrSandbox)
	require.Less(t, time.Since(start), 5*time.Second)

	// The caller's own deadline counts as cancellation too.
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.NoError(t, in.Begin(ctx, modeParams(2), nil))
	_, _, err = in.Step(testCands, nil)
	require.ErrorIs(t, err, errs.ErrCancelled)

	// And the instance serves the next request.
	require.NoError(t, in.Begin(context.Background(), modeParams(0), nil))
	id, _, err := in.Step(testCands, nil)
	require.NoError(t, err)
	require.Equal(t, int32(7), id)
}

func TestBadModulesAreRejected(t *testing.T) {
	const deadline = 300 * time.Millisecond
	h := newTestHost(t, Config{Deadline: deadline})
	truncated := defaultWasm[:len(defaultWasm)/2]
	notWasm := []struct {
		name  string
		bytes []byte
	}{
		{"empty", nil},
		{"text", []byte("hello, world")},
		{"elf", []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00")},
		{"wat source", []byte("(module)")},
		{"truncated", truncated},
		{"version 2", []byte("\x00asm\x02\x00\x00\x00")},
	}
	for _, c := range notWasm {
		_, err := h.Compile(c.bytes)
		requireSandboxError(t, err, KindInvalidModule, "compile")
	}
	_, err := h.Compile([]byte("hello"))
	requireSandboxError(t, err, KindInvalidModule, "not a WebAssembly module")
	_, err = h.Compile(append(append([]byte{}, wasmMagic...), make([]byte, MaxModuleSize)...))
	requireSandboxError(t, err, KindInvalidModule, "the limit is 16777216")

	compileErrors := []struct {
		file    string
		kind    Kind
		details []string
	}{
		{"wasi", KindImport, []string{`import "wasi_snapshot_preview1"."fd_write" (function) is not offered`}},
		{"env_global", KindImport, []string{`import "env"."clock" (global) is not offered`}},
		{"import_memory", KindImport, []string{`import "realm"."memory" (memory) is not offered`}},
		{"realm_unknown", KindImport, []string{`import "realm"."open_file" is not offered`}},
		{"realm_badsig", KindImport, []string{`import "realm"."log" has type (i64) -> ()`, "(i32, i32) -> ()"}},
		{"no_step", KindExport, []string{`missing export "realm_step"`}},
		{"no_memory", KindExport, []string{`export its memory`}},
		{"step_badtype", KindExport, []string{`export "realm_step" has type (i32) -> (f32)`}},
		{"big_memory", KindMemoryLimit, []string{"100 initial pages", "cap is 64 pages"}},
	}
	for _, c := range compileErrors {
		_, err := h.Compile(testdataWasm(t, c.file))
		requireSandboxError(t, err, c.kind, c.details...)
	}

	ctx := context.Background()
	instantiateErrors := []struct {
		file    string
		kind    Kind
		details []string
	}{
		{"version2", KindVersion, []string{"ABI version 2", "speaks 1"}},
		{"bad_alloc", KindBadResult, []string{"realm_alloc", "outside guest memory"}},
		{"oom_alloc", KindMemoryLimit, []string{"realm_alloc", "out of memory"}},
		{"start_trap", KindTrap, []string{"instantiate", "unreachable"}},
		{"start_loop", KindDeadline, []string{"instantiate", "budget of 300ms per instantiation"}},
	}
	for _, c := range instantiateErrors {
		mod, err := h.Compile(testdataWasm(t, c.file))
		require.NoError(t, err, c.file)
		start := time.Now()
		_, err = mod.Instantiate(ctx, newFakeVocab(10), nil)
		requireSandboxError(t, err, c.kind, c.details...)
		require.Less(t, time.Since(start), deadline+2*time.Second, c.file)
	}

	// The host still works.
	in := defaultInstance(t, h, newFakeVocab(100))
	require.NoError(t, in.Begin(ctx, sample.DefaultParams(), nil))
	_, _, err = in.Step(testCands, nil)
	require.NoError(t, err)
}

// TestManyRealmsConcurrently runs well-behaved and hostile instances side
// by side (go test -race): the failures stay in their instances.
func TestManyRealmsConcurrently(t *testing.T) {
	h := newTestHost(t, Config{Deadline: 200 * time.Millisecond})
	vocab := newFakeVocab(1000)
	good, err := h.DefaultModule()
	require.NoError(t, err)
	bad, err := h.Compile(testdataWasm(t, "hostile"))
	require.NoError(t, err)
	ctx := context.Background()
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mod := good
			if g%2 == 1 {
				mod = bad
			}
			in, err := mod.Instantiate(ctx, vocab, nil)
			if err != nil {
				errc <- err
				return
			}
			defer in.Close()
			for req := range 20 {
				mode := uint64(0)
				if mod == bad {
					mode = []uint64{1, 3, 4, 6, 0}[req%5]
				}
				if err := in.Begin(ctx, modeParams(mode), []int32{1, 2, 3}); err != nil {
					errc <- err
					return
				}
				for range 10 {
					id, _, err := in.Step(testCands, nil)
					if mode != 0 {
						if !errors.Is(err, errs.ErrSandbox) {
							errc <- fmt.Errorf("mode %d: got %v, want a sandbox error", mode, err)
						}
						break
					}
					if err != nil || (id != 7 && id != 3 && id != 50) {
						errc <- fmt.Errorf("good guest: id %d, err %v", id, err)
						return
					}
				}
				in.End()
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

func TestClosed(t *testing.T) {
	h := NewHost(Config{})
	in := defaultInstance(t, h, newFakeVocab(10))
	ctx := context.Background()
	require.NoError(t, in.Close())
	require.NoError(t, in.Close())
	require.ErrorIs(t, in.Begin(ctx, sample.DefaultParams(), nil), errs.ErrClosed)
	_, _, err := in.Step(testCands, nil)
	require.ErrorIs(t, err, errs.ErrClosed)

	in2 := defaultInstance(t, h, newFakeVocab(10))
	require.NoError(t, h.Close(ctx))
	require.NoError(t, h.Close(ctx))
	require.ErrorIs(t, in2.Begin(ctx, sample.DefaultParams(), nil), errs.ErrClosed)
	_, err = h.DefaultModule()
	require.ErrorIs(t, err, errs.ErrClosed)
}

// wasmModule assembles a binary module from (section id, body) pairs.
func wasmModule(sections ...[]byte) []byte {
	m := append([]byte(nil), wasmMagic...)
	for _, s := range sections {
		m = append(m, s[0])
		m = appendULEB(m, uint64(len(s)-1))
		m = append(m, s[1:]...)
	}
	return m
}

func appendULEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// TestResourceBombsAreRejected: modules a few bytes long that declare
// huge counts or sizes (which would make wazero allocate gigabytes and
// crash the process) or unbounded tables are refused at compile time.
func TestResourceBombsAreRejected(t *testing.T) {
	h := newTestHost(t, Config{})
	huge := appendULEB(nil, 0xffffffff)
	typeSec := []byte{1, 1, 0x60, 0, 0} // one type: () -> ()
	funcSec := []byte{3, 1, 0}          // one function of type 0
	cases := []struct {
		name    string
		wasm    []byte
		kind    Kind
		details []string
	}{
		{"2^32 globals", wasmModule(append([]byte{6}, huge...)), KindInvalidModule, []string{"global count 4294967295"}},
		{"2^32 types", wasmModule(append([]byte{1}, huge...)), KindInvalidModule, []string{"type count"}},
		{"2^32 params", wasmModule([]byte{1, 1, 0x60, 0xff, 0xff, 0xff, 0xff, 0x0f, 0}), KindInvalidModule, []string{"value type count"}},
		{"2^32 locals", wasmModule(typeSec, funcSec, []byte{10, 1, 7, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0x0b}),
			KindMemoryLimit, []string{"more than 50000 locals"}},
		{"4 GiB code entry", wasmModule(typeSec, funcSec, append(append([]byte{10, 1}, huge...), 0, 0x0b)),
			KindInvalidModule, []string{"exceeds"}},
		{"4 GiB data segment", wasmModule([]byte{5, 1, 0, 1}, append(append([]byte{11, 1, 1}, huge...), 0)),
			KindInvalidModule, []string{"data"}},
		{"2^32 exports", wasmModule(append([]byte{7}, huge...)), KindInvalidModule, []string{"export count"}},
		{"section past the end", append(append(append([]byte(nil), wasmMagic...), 6), huge...), KindInvalidModule, []string{"exceeds"}},
		{"huge table", wasmModule([]byte{4, 1, 0x70, 1, 0, 0xff, 0xff, 0xff, 0x3f}), KindMemoryLimit, []string{"cap is 65536"}},
		{"2^32 names", wasmModule(append([]byte{0, 4, 'n', 'a', 'm', 'e', 1, 5}, huge...)), KindExport, []string{"memory"}},
	}
	for _, c := range cases {
		_, err := h.Compile(c.wasm)
		requireSandboxError(t, err, c.kind, c.details...)
	}
	_, err := h.Compile(testdataWasm(t, "table_grow"))
	requireSandboxError(t, err, KindMemoryLimit, "table 0 declares no maximum")
}
