package sandbox

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/sample"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// Vocab is what a guest may learn about the model's vocabulary (through
// the token_piece import and the request's n_vocab). *tokenizer.Tokenizer
// satisfies it; so does engine.Model's Vocabulary.
type Vocab interface {
	// VocabSize is the number of tokens; ids are in [0, VocabSize).
	VocabSize() int
	// Piece returns the text bytes of a valid id (empty for control
	// tokens). The caller does not keep or modify them.
	Piece(id int32) []byte
}

// Instance is one Realm's guest: a module instance with its own memory,
// bound to one vocabulary. Its methods are safe for concurrent use but
// serialised; a request is Begin, Step per token, End.
//
// After a guest failure the wazero instance is discarded and the next
// Begin instantiates the module afresh; after Close every method fails
// with errs.ErrClosed.
type Instance struct {
	mod    *Module
	vocab  Vocab
	nVocab int
	config []byte

	mu     sync.Mutex
	closed bool
	wasm   api.Module // nil: not instantiated (first use, or after a failure)
	alloc  api.Function
	begin  api.Function
	step   api.Function
	cands  uint32    // guest address of the candidate buffer
	stack  [2]uint64 // parameters and results of calls into the guest

	// The current request.
	active  bool
	reqCtx  context.Context // the caller's context, carrying the instance
	spent   time.Duration   // guest time used so far
	request []byte          // scratch for the request block

	// Set by host functions during a call.
	logits   []float32 // raw logits of the current step (nil outside Step)
	faultErr *Error
	logLines int
	lastLog  string
	// Memory size in pages when the instance was last discarded.
	lastMemPages uint32
	// instantiating is set while instantiate runs (for error messages).
	instantiating bool
}

// Instantiate creates an instance of the module for a Realm whose model
// has vocabulary vocab. config is handed to the guest verbatim through
// the config import (nil: none). It fails with an *Error when the module's
// start function or realm_abi_version or realm_alloc fail, and with
// errs.ErrCancelled when ctx ends first.
func (m *Module) Instantiate(ctx context.Context, vocab Vocab, config []byte) (*Instance, error) {
	if vocab == nil || vocab.VocabSize() <= 0 {
		return nil, fmt.Errorf("%w: sandbox: instantiate: empty vocabulary", errs.ErrInvalidArgument)
	}
	in := &Instance{mod: m, vocab: vocab, nVocab: vocab.VocabSize(), config: slices.Clone(config)}
	in.mu.Lock()
	defer in.mu.Unlock()
	if err := in.instantiate(ctx); err != nil {
		return nil, err
	}
	return in, nil
}

// instantiate (re)creates the wazero instance. Called with mu held.
func (in *Instance) instantiate(ctx context.Context) error {
	h := in.mod.host
	if h.isClosed() {
		return fmt.Errorf("%w: sandbox host", errs.ErrClosed)
	}
	in.logLines, in.faultErr, in.logits, in.spent = 0, nil, nil, 0
	in.instantiating = true
	defer func() { in.instantiating = false }()
	callCtx, cancel := context.WithTimeout(context.WithValue(ctx, instanceKey{}, in), h.cfg.Deadline)
	defer cancel()
	mc := wazero.NewModuleConfig().WithName("").WithStartFunctions()
	start := time.Now()
	wasm, err := h.rt.InstantiateModule(callCtx, in.mod.compiled, mc)
	if err != nil {
		return in.failure(ctx, "instantiate", err, time.Since(start))
	}
	in.wasm = wasm
	in.alloc = wasm.ExportedFunction("realm_alloc")
	in.begin = wasm.ExportedFunction("realm_begin")
	in.step = wasm.ExportedFunction("realm_step")

	version, err := in.call(callCtx, ctx, wasm.ExportedFunction("realm_abi_version"), "realm_abi_version")
	if err != nil {
		return err
	}
	if version != ABIVersion {
		in.discard()
		return &Error{Kind: KindVersion, Module: in.mod.id, Op: "realm_abi_version",
			Detail: fmt.Sprintf("the guest speaks ABI version %d, this host speaks %d", version, ABIVersion)}
	}
	ptr, err := in.allocate(callCtx, ctx, allocCandidates, sample.MaxCandidates*candidateSize)
	if err != nil {
		return err
	}
	in.cands = ptr
	return nil
}

// allocate calls realm_alloc and checks the block lies in guest memory.
func (in *Instance) allocate(callCtx, ctx context.Context, kind int32, size uint32) (uint32, error) {
	in.stack[0], in.stack[1] = api.EncodeI32(kind), api.EncodeU32(size)
	r, err := in.call(callCtx, ctx, in.alloc, "realm_alloc")
	if err != nil {
		return 0, err
	}
	ptr := uint32(r)
	memSize := in.wasm.Memory().Size()
	switch {
	case ptr == 0:
		in.discard()
		return 0, &Error{Kind: KindMemoryLimit, Module: in.mod.id, Op: "realm_alloc",
			Detail: fmt.Sprintf("out of memory for %d bytes (memory %d KiB, cap %d KiB)",
				size, memSize/1024, in.mod.host.cfg.MemoryLimitPages*64)}
	case uint64(ptr)+uint64(size) > uint64(memSize):
		in.discard()
		return 0, &Error{Kind: KindBadResult, Module: in.mod.id, Op: "realm_alloc",
			Detail: fmt.Sprintf("returned [%#x, %#x) for %d bytes, outside guest memory (%d bytes)",
				ptr, uint64(ptr)+uint64(size), size, memSize)}
	}
	return ptr, nil
}

// call runs a guest function with in.stack as its parameters and returns
// its i32 result; a failure discards the instance and becomes an error.
func (in *Instance) call(callCtx, ctx context.Context, f api.Function, name string) (int32, error) {
	start := time.Now()
	err := f.CallWithStack(callCtx, in.stack[:])
	took := time.Since(start)
	if err != nil {
		return 0, in.failure(ctx, name, err, took)
	}
	in.spent += took
	return api.DecodeI32(in.stack[0]), nil
}

// failure turns the error of a call into the guest into the error to
// report, and discards the instance. ctx is the caller's context.
func (in *Instance) failure(ctx context.Context, op string, err error, took time.Duration) error {
	in.discard()
	if in.faultErr != nil {
		e := in.faultErr
		in.faultErr = nil
		return e
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w: sandbox: %s: %v", errs.ErrCancelled, op, context.Cause(ctx))
	}
	e := &Error{Kind: KindTrap, Module: in.mod.id, Op: op, Detail: firstLine(err.Error())}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded, sys.ExitCodeContextCanceled:
			e.Kind = KindDeadline
			scope := "request"
			if in.instantiating {
				scope = "instantiation"
			}
			e.Detail = fmt.Sprintf("the guest ran for %v, over its budget of %v per %s",
				(in.spent + took).Round(time.Millisecond), in.mod.host.cfg.Deadline, scope)
		}
	}
	if e.Kind == KindTrap && strings.Contains(e.Detail, "out of bounds memory access") && in.lastMemPages >= in.mod.host.cfg.MemoryLimitPages {
		e.Detail += fmt.Sprintf(" (memory at its cap of %d pages)", in.mod.host.cfg.MemoryLimitPages)
	}
	if in.lastLog != "" {
		e.Detail += fmt.Sprintf(" (last guest log: %q)", in.lastLog)
	}
	return e
}

// discard drops the wazero instance; the next Begin re-creates it.
func (in *Instance) discard() {
	if in.wasm != nil {
		if mem := in.wasm.Memory(); mem != nil {
			in.lastMemPages = mem.Size() / 65536
		}
		in.wasm.Close(context.Background())
	}
	in.wasm, in.alloc, in.begin, in.step = nil, nil, nil, nil
	in.active = false
	in.logits = nil
}

// Begin starts a request: it re-instantiates the guest if an earlier
// failure discarded it, writes the request block (p, the vocabulary size
// and the prompt) into guest memory and calls realm_begin. ctx bounds the
// whole request: cancelling it stops a running guest call (errs.ErrCancelled).
func (in *Instance) Begin(ctx context.Context, p sample.Params, prompt []int32) error {
	if err := p.Validate(); err != nil {
		return err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return fmt.Errorf("%w: sandbox instance", errs.ErrClosed)
	}
	if in.mod.host.isClosed() {
		in.discard()
		return fmt.Errorf("%w: sandbox host", errs.ErrClosed)
	}
	in.active = false
	if in.wasm == nil {
		if err := in.instantiate(ctx); err != nil {
			return err
		}
	}
	in.reqCtx = context.WithValue(ctx, instanceKey{}, in)
	in.spent, in.logLines, in.lastLog = 0, 0, ""

	size := paramsSize + 4*len(prompt)
	if size > math.MaxInt32 {
		return fmt.Errorf("%w: sandbox: prompt of %d tokens", errs.ErrInvalidArgument, len(prompt))
	}
	callCtx, cancel := in.budget()
	defer cancel()
	ptr, err := in.allocate(callCtx, ctx, allocRequest, uint32(size))
	if err != nil {
		return err
	}
	in.request = slices.Grow(in.request[:0], size)[:size]
	encodeRequest(in.request, p, in.nVocab, prompt)
	in.wasm.Memory().Write(ptr, in.request) // in range: checked by allocate
	in.stack[0], in.stack[1] = api.EncodeU32(ptr), api.EncodeU32(uint32(size))
	r, err := in.call(callCtx, ctx, in.begin, "realm_begin")
	if err != nil {
		return err
	}
	if r != 0 {
		return in.guestResult("realm_begin", r)
	}
	in.active = true
	return nil
}

// budget returns the context for the next call into the guest: the
// request's context with a deadline at the end of the remaining budget.
func (in *Instance) budget() (context.Context, context.CancelFunc) {
	return context.WithTimeout(in.reqCtx, max(in.mod.host.cfg.Deadline-in.spent, 0))
}

// guestResult reports a result realm_begin or realm_step may not return.
func (in *Instance) guestResult(op string, r int32) error {
	in.discard()
	e := &Error{Kind: KindBadResult, Module: in.mod.id, Op: op}
	switch {
	case r < StopToken || (op == "realm_begin" && r < 0):
		e.Kind = KindGuestError
		e.Detail = fmt.Sprintf("returned error code %d", r)
	case op == "realm_begin":
		e.Detail = fmt.Sprintf("returned %d, want 0 or a negative error code", r)
	default:
		e.Detail = fmt.Sprintf("returned token id %d, outside the vocabulary [0, %d)", r, in.nVocab)
	}
	if in.lastLog != "" {
		e.Detail += fmt.Sprintf(" (last guest log: %q)", in.lastLog)
	}
	return e
}

// Step hands the guest this step's candidates (after the repetition
// penalty, best first, as sample.Sampler.Candidates returns them; at most
// sample.MaxCandidates) and the raw logits of the whole vocabulary (read
// by the guest through the logits import; may be nil), and returns the
// token it chose, or stop = true when it ends generation.
func (in *Instance) Step(cands []sample.Candidate, logits []float32) (id int32, stop bool, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch {
	case in.closed:
		return 0, false, fmt.Errorf("%w: sandbox instance", errs.ErrClosed)
	case !in.active:
		return 0, false, fmt.Errorf("%w: sandbox: Step outside a request (no Begin, or the request failed)", errs.ErrInvalidArgument)
	case len(cands) == 0 || len(cands) > sample.MaxCandidates:
		return 0, false, fmt.Errorf("%w: sandbox: %d candidates, want 1 to %d", errs.ErrInvalidArgument, len(cands), sample.MaxCandidates)
	}
	buf, _ := in.wasm.Memory().Read(in.cands, uint32(len(cands))*candidateSize) // checked at instantiation
	for i, c := range cands {
		binary.LittleEndian.PutUint32(buf[8*i:], uint32(c.ID))
		binary.LittleEndian.PutUint32(buf[8*i+4:], math.Float32bits(c.Logit))
	}
	in.logits = logits
	callCtx, cancel := in.budget()
	start := time.Now()
	in.stack[0], in.stack[1] = api.EncodeU32(in.cands), api.EncodeI32(int32(len(cands)))
	err = in.step.CallWithStack(callCtx, in.stack[:])
	took := time.Since(start)
	cancel()
	in.logits = nil
	if err != nil {
		return 0, false, in.failure(in.reqCtx, "realm_step", err, took)
	}
	in.spent += took
	r := api.DecodeI32(in.stack[0])
	switch {
	case r == StopToken:
		return 0, true, nil
	case r < 0 || int(r) >= in.nVocab:
		return 0, false, in.guestResult("realm_step", r)
	}
	return r, false, nil
}

// End finishes the current request (a no-op when none is active).
func (in *Instance) End() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.active = false
	in.reqCtx = nil
	in.logits = nil
}

// Close releases the instance. It is idempotent.
func (in *Instance) Close() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.closed = true
	in.discard()
	return nil
}
