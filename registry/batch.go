package registry

import (
	"context"
	"fmt"
	"sync"

	"github.com/realm-ai/realm/engine"
	"github.com/realm-ai/realm/engine/sandbox"
)

// maxBatch is the most prompts of one request a Realm generates at once;
// prompt i of a longer list runs on slot i % maxBatch after the prompts
// before it on that slot.
const maxBatch = 16

// slot is one lane of a Realm's batch: a session and a guest instance of
// its own (a guest instance serves one generation at a time). Slot 0 is the
// Realm's own session and instance.
type slot struct {
	sess *engine.Session
	inst *sandbox.Instance
}

// close releases the slot's session and instance.
func (s slot) close() {
	s.inst.Close()
	s.sess.Close()
}

// slots returns n slots for a batch: the Realm's own and n-1 extra ones,
// created on first use and kept (with their KV caches, so a repeated batch
// reuses its prompts' prefixes) until the model changes or the Realm
// closes. r.mu is held and a model loaded.
func (r *Realm) slots(n int) ([]slot, error) {
	for len(r.extra) < n-1 {
		inst, err := instantiate(r.guest, r.model.model, r.config)
		if err != nil {
			return nil, err
		}
		sess, err := r.model.newSession(r.sess.ContextLength())
		if err != nil {
			inst.Close()
			return nil, err
		}
		r.extra = append(r.extra, slot{sess: sess, inst: inst})
	}
	return append([]slot{{sess: r.sess, inst: r.inst}}, r.extra[:n-1]...), nil
}

// closeExtra releases the extra batch slots. r.mu is held.
func (r *Realm) closeExtra() {
	for _, s := range r.extra {
		s.close()
	}
	r.extra = nil
}

// generateBatch generates every prompt at once, each on a slot of its own,
// so that the engine batches their forward passes; results come back in
// the order of the prompts. onToken (may be nil) receives prompt i's
// tokens, onDone (may be nil) its result as soon as it ends. The first
// prompt (in order) that fails fails the call, after the others ended.
// r.mu is held and a model loaded.
func (r *Realm) generateBatch(ctx context.Context, prompts [][]int32, p engine.SamplingParams,
	onToken func(i int, t engine.Token) error, onDone func(i int, res *engine.Result)) ([]*engine.Result, error) {
	slots, err := r.slots(min(len(prompts), maxBatch))
	if err != nil {
		return nil, err
	}
	ctxs := make([]context.Context, len(prompts))
	for i := range ctxs {
		ctxs[i] = ctx
	}
	return runBatch(ctxs, slots, prompts, p, onToken, onDone)
}

// runBatch is generateBatch on slots taken beforehand, prompt i running
// under ctxs[i].
func runBatch(ctxs []context.Context, slots []slot, prompts [][]int32, p engine.SamplingParams,
	onToken func(i int, t engine.Token) error, onDone func(i int, res *engine.Result)) ([]*engine.Result, error) {
	results := make([]*engine.Result, len(prompts))
	failures := make([]error, len(prompts))
	var wg sync.WaitGroup
	for k, s := range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Prompt i runs on slot i % len(slots): which cache a prompt
			// reuses does not depend on timing.
			for i := k; i < len(prompts); i += len(slots) {
				var cb func(engine.Token) error
				if onToken != nil {
					cb = func(t engine.Token) error { return onToken(i, t) }
				}
				func() {
					defer func() {
						if p := recover(); p != nil {
							failures[i] = fmt.Errorf("generate: internal error: panic: %v", p)
						}
					}()
					results[i], failures[i] = s.sess.GenerateWithPolicy(ctxs[i], prompts[i], p, s.inst, cb)
				}()
				if failures[i] == nil && onDone != nil {
					onDone(i, results[i])
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range failures {
		if err != nil {
			return nil, fmt.Errorf("generate prompt %d: %w", i, err)
		}
	}
	return results, nil
}

// streamBatch is Stream for a batch: it takes the slots, then generates in
// a goroutine that owns r.mu (and unlocks it) like a single stream's.
// r.mu is held and a model loaded.
func (r *Realm) streamBatch(ctx context.Context, stop context.CancelFunc, prompts [][]int32,
	p engine.SamplingParams, after func()) (*Stream, error) {
	slots, err := r.slots(min(len(prompts), maxBatch))
	if err != nil {
		r.mu.Unlock()
		stop()
		return nil, err
	}
	s := newStream(stop)
	s.finals = len(prompts)
	ctxs := make([]context.Context, len(prompts))
	s.cancels = make([]context.CancelFunc, len(prompts))
	for i := range ctxs {
		ctxs[i], s.cancels[i] = context.WithCancel(ctx)
	}
	go func() {
		defer close(s.done)
		_, err := runBatch(ctxs, slots, prompts, p, s.pushAt, s.finishAt)
		for _, cancel := range s.cancels {
			cancel()
		}
		r.mu.Unlock()
		stop()
		if err != nil {
			s.finish(nil, err)
		}
		if after != nil {
			after()
		}
	}()
	return s, nil
}
