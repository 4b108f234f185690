package registry

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/realm-ai/realm/engine"
	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/sandbox"
)

// Options are the defaults of the models a Realm or a Registry loads.
type Options struct {
	// Threads is the number of threads of a forward pass (0 = engine default).
	Threads int `json:"threads"`
	// ContextLength is the context of each session (0 = the model's,
	// capped at engine.MaxDefaultContext).
	ContextLength int `json:"context_length"`
}

// Validate reports a negative field as an error wrapping errs.ErrInvalidArgument.
func (o Options) Validate() error {
	if o.Threads < 0 {
		return fmt.Errorf("%w: options: field \"threads\" = %d, want >= 0", errs.ErrInvalidArgument, o.Threads)
	}
	if o.ContextLength < 0 {
		return fmt.Errorf("%w: options: field \"context_length\" = %d, want >= 0", errs.ErrInvalidArgument, o.ContextLength)
	}
	return nil
}

// over returns o with the non-zero fields of x.
func (o Options) over(x Options) Options {
	if x.Threads != 0 {
		o.Threads = x.Threads
	}
	if x.ContextLength != 0 {
		o.ContextLength = x.ContextLength
	}
	return o
}

func (o Options) engine() engine.LoadOptions {
	return engine.LoadOptions{Threads: o.Threads, ContextLength: o.ContextLength}
}

// Realm is one tenant: at most one model (shared with others loading the
// same file), its own session, whose KV cache persists between calls (a
// prompt that starts like the previous one reuses its cache), and its own
// instance of a sandbox guest, which chooses every generated token. Its
// methods are safe for concurrent use and run one at a time.
type Realm struct {
	opts   Options
	ctx    context.Context // cancelled by Close: ends generations in flight
	cancel context.CancelFunc

	mu     sync.Mutex // serialises calls; held by a stream while it generates
	closed bool
	model  *sharedModel
	sess   *engine.Session
	detach func() // called once when the realm stops using model (registry accounting)
	guest  *sandbox.Module
	config []byte            // the guest's configuration
	inst   *sandbox.Instance // guest instance bound to model's vocabulary
	extra  []slot            // more sessions and instances for batches (batch.go)
}

// New returns a Realm without a model, running the default guest. o gives
// the defaults of the models it loads.
func New(o Options) (*Realm, error) {
	return NewWithGuest(o, Guest{})
}

// NewWithGuest returns a Realm without a model, running guest. An invalid
// guest module fails with errs.ErrSandbox.
func NewWithGuest(o Options, guest Guest) (*Realm, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	mod, err := guest.compile()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Realm{opts: o, ctx: ctx, cancel: cancel, guest: mod, config: slices.Clone(guest.Config)}, nil
}

// newBound returns a Realm running guest and using sm (whose reference it
// takes over, also on failure) with a context of nCtx tokens (0: the
// model's default); detach, if not nil, is called when the Realm stops
// using it.
func newBound(sm *sharedModel, nCtx int, detach func(), guest Guest) (*Realm, error) {
	r, err := NewWithGuest(Options{}, guest)
	if err != nil {
		sm.release()
		if detach != nil {
			detach()
		}
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.bind(sm, nCtx, detach); err != nil {
		return nil, err
	}
	return r, nil
}

// lock starts a call: it fails with errs.ErrClosed after Close.
func (r *Realm) lock() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return fmt.Errorf("%w: realm", errs.ErrClosed)
	}
	return nil
}

// loaded starts a call that needs a model.
func (r *Realm) loaded() error {
	if err := r.lock(); err != nil {
		return err
	}
	if r.sess == nil {
		r.mu.Unlock()
		return fmt.Errorf("%w: realm has no model; load one first", errs.ErrNotLoaded)
	}
	return nil
}

// bind makes sm (a reference the realm takes over) the realm's model,
// with a fresh session of nCtx tokens (0: the model's default), and lets
// go of the model before. r.mu is held.
func (r *Realm) bind(sm *sharedModel, nCtx int, detach func()) error {
	fail := func(err error) error {
		sm.release()
		if detach != nil {
			detach()
		}
		return err
	}
	inst, err := instantiate(r.guest, sm.model, r.config)
	if err != nil {
		return fail(err)
	}
	sess, err := sm.newSession(nCtx)
	if err != nil {
		inst.Close()
		return fail(err)
	}
	r.unbind()
	r.model, r.sess, r.detach, r.inst = sm, sess, detach, inst
	return nil
}

// unbind lets go of the realm's model. r.mu is held.
func (r *Realm) unbind() {
	r.closeExtra()
	if r.inst != nil {
		r.inst.Close()
	}
	if r.sess != nil {
		r.sess.Close()
	}
	if r.model != nil {
		r.model.release()
	}
	if r.detach != nil {
		r.detach()
	}
	r.model, r.sess, r.detach, r.inst = nil, nil, nil, nil
}

// LoadFile loads the GGUF file at path, replacing the model loaded before
// (which stays if loading fails). Non-zero fields of o override the
// Realm's defaults. A file already loaded with the same options is shared,
// not loaded again.
func (r *Realm) LoadFile(path string, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if err := r.lock(); err != nil {
		return err
	}
	defer r.mu.Unlock()
	opts := r.opts.over(o)
	sm, err := openFile(path, opts.engine())
	if err != nil {
		return err
	}
	return r.bind(sm, opts.ContextLength, nil)
}

// LoadBytes loads a GGUF image from memory like LoadFile. The Realm takes
// ownership of data: the caller must not modify it afterwards.
func (r *Realm) LoadBytes(name string, data []byte, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if err := r.lock(); err != nil {
		return err
	}
	defer r.mu.Unlock()
	opts := r.opts.over(o)
	sm, err := openBytes(name, data, opts.engine())
	if err != nil {
		return err
	}
	return r.bind(sm, opts.ContextLength, nil)
}

// IsLoaded reports whether a model is loaded.
func (r *Realm) IsLoaded() (bool, error) {
	if err := r.lock(); err != nil {
		return false, err
	}
	defer r.mu.Unlock()
	return r.sess != nil, nil
}

// Info describes the loaded model.
func (r *Realm) Info() (Info, error) {
	if err := r.loaded(); err != nil {
		return Info{}, err
	}
	defer r.mu.Unlock()
	return r.model.info(r.sess.ContextLength()), nil
}

// Tokenize turns text into token ids (see engine.Model.Tokenize).
func (r *Realm) Tokenize(text string, addSpecial, parseSpecial bool) ([]int32, error) {
	if err := r.loaded(); err != nil {
		return nil, err
	}
	defer r.mu.Unlock()
	return r.model.model.Tokenize(text, addSpecial, parseSpecial)
}

// Detokenize turns token ids into text.
func (r *Realm) Detokenize(ids []int32) (string, error) {
	if err := r.loaded(); err != nil {
		return "", err
	}
	defer r.mu.Unlock()
	return r.model.model.Detokenize(ids)
}

// ApplyChatTemplate renders a chat with the model's template.
func (r *Realm) ApplyChatTemplate(msgs []engine.Message, addGenerationPrompt bool) (string, error) {
	if err := r.loaded(); err != nil {
		return "", err
	}
	defer r.mu.Unlock()
	return r.model.model.ApplyChatTemplate(msgs, addGenerationPrompt)
}

// prompts tokenizes the prompts of req. r.mu is held and a model loaded.
//
// Text prompts are tokenized like llama.cpp's tools do (add_special and
// parse_special true: BOS added if the model asks for it, control-token
// text such as "<|im_start|>" becomes the control token). Messages are
// rendered with the chat template (with the generation prompt) and
// tokenized the same way; a BOS the template already wrote is not doubled.
func (r *Realm) prompts(req *Request) ([][]int32, error) {
	m := r.model.model
	var texts []string
	switch {
	case req.HasPrompt:
		texts = []string{req.Prompt}
	case req.Prompts != nil:
		texts = req.Prompts
	case req.Messages != nil:
		text, err := m.ApplyChatTemplate(req.Messages, true)
		if err != nil {
			return nil, err
		}
		texts = []string{text}
	default:
		return nil, fmt.Errorf("%w: request has no prompt", errs.ErrInvalidArgument)
	}
	info := m.Info()
	out := make([][]int32, len(texts))
	for i, text := range texts {
		ids, err := m.Tokenize(text, true, true)
		if err != nil {
			return nil, err
		}
		if len(ids) >= 2 && ids[0] == info.BOS && ids[1] == info.BOS && req.Messages != nil {
			ids = ids[1:]
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("%w: prompt %d is empty", errs.ErrInvalidArgument, i)
		}
		if n := r.sess.ContextLength(); len(ids) > n {
			return nil, fmt.Errorf("%w: prompt %d has %d tokens, the context holds %d",
				errs.ErrContextLength, i, len(ids), n)
		}
		out[i] = ids
	}
	return out, nil
}

// join returns a context cancelled with parent or when the Realm closes.
func (r *Realm) join(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	stop := context.AfterFunc(r.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// Generate runs req and returns one result per prompt (one for "prompt"
// and "messages"), in order. The prompts of a batch ("prompts") are
// generated at the same time, each on a session and guest instance of its
// own (up to 16 at once; the Realm keeps them for its next batches), so the
// engine runs their forward passes as one batch; each result is the one the
// prompt gets alone. The Realm's guest chooses every token (a guest failure
// is an error wrapping errs.ErrSandbox). Cancelling ctx (or closing the
// Realm) ends generation within a token with FinishReason "cancelled".
func (r *Realm) Generate(ctx context.Context, req Request) ([]*engine.Result, error) {
	ctx, stop := r.join(ctx)
	defer stop()
	if err := r.loaded(); err != nil {
		return nil, err
	}
	defer r.mu.Unlock()
	prompts, err := r.prompts(&req)
	if err != nil {
		return nil, err
	}
	if len(prompts) > 1 {
		return r.generateBatch(ctx, prompts, req.Sampling, nil, nil)
	}
	res, err := r.sess.GenerateWithPolicy(ctx, prompts[0], req.Sampling, r.inst, nil)
	if err != nil {
		return nil, fmt.Errorf("generate prompt 0: %w", err)
	}
	return []*engine.Result{res}, nil
}

// Stream starts req and returns its Stream. The request is checked and
// its prompts tokenized before Stream returns; the generation then runs in
// its own goroutine, holding the Realm (other calls on it wait) until it
// ends. The Stream buffers every chunk, so the generation never waits for
// its reader. For a batch ("prompts") the prompts are generated at the
// same time as in Generate; their chunks interleave, each carrying its
// prompt's Index, and each prompt ends with a final chunk of its own.
func (r *Realm) Stream(ctx context.Context, req Request) (*Stream, error) {
	return r.stream(ctx, req, nil)
}

// stream is Stream with a function called after the generation ended and
// the Realm was released.
func (r *Realm) stream(ctx context.Context, req Request, after func()) (*Stream, error) {
	ctx, stop := r.join(ctx)
	if err := r.loaded(); err != nil {
		stop()
		return nil, err
	}
	prompts, err := r.prompts(&req)
	if err != nil {
		r.mu.Unlock()
		stop()
		return nil, err
	}
	if req.Batch() {
		return r.streamBatch(ctx, stop, prompts, req.Sampling, after)
	}
	s := newStream(stop)
	sess, inst := r.sess, r.inst
	go func() {
		// r.mu passes to this goroutine, which unlocks it when done.
		defer close(s.done)
		var res *engine.Result
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					res, err = nil, fmt.Errorf("stream: internal error: panic: %v", p)
				}
			}()
			res, err = sess.GenerateWithPolicy(ctx, prompts[0], req.Sampling, inst, s.push)
		}()
		r.mu.Unlock()
		stop()
		s.finish(res, err)
		if after != nil {
			after()
		}
	}()
	return s, nil
}

// Close cancels the Realm's generations in flight, waits for them to end
// (within a token) and releases its model and session. Later calls fail
// with errs.ErrClosed; Close itself is idempotent.
func (r *Realm) Close() error {
	r.cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.unbind()
	return nil
}
