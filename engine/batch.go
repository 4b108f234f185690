package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/model"
)

// Continuous batching.
//
// Every forward pass of a session goes through its model's scheduler.
// Sessions generating at the same time submit their next step (a decoding
// token or a prompt chunk) to a lane; the lane's runner goroutine gathers
// the pending steps and runs them as one model.Forward, so the weights are
// read once for all of them. Sampling (the native sampler or a policy)
// stays on each session's goroutine, after its logits come back.
//
// A model has one lane per group of cores its thread pool leaves free
// (GOMAXPROCS / threads, at least one): with the default of one thread per
// forward pass and two cores, two batches run side by side. A session
// joins the least busy lane when its call starts and stays there until
// the call ends.
//
// A step runs every pending decoding token and prompt chunks, oldest
// first, up to stepPromptTokens prompt tokens (at least one chunk), so a
// long prompt delays the lane's decoders by at most one chunk per step and
// a new request starts at the next step. Each sequence keeps the chunking
// of a session running alone (chunks of promptChunk tokens, then one token
// per step), and a sequence's results do not depend on the others of its
// batch (see model.Model.Forward): batched or not, every session computes
// the same bits.
//
// The runner starts a step once every session of the lane has submitted
// one; a session busy elsewhere (sampling, a slow callback) is waited for
// at most a grace period of half the last step's duration, then left for
// the next step.

// stepPromptTokens bounds the prompt tokens of one batch step (a chunk
// longer than the rest of the budget waits for the next step, unless it is
// the step's first).
const stepPromptTokens = promptChunk

// Bounds of the grace period a runner waits for the lane's stragglers.
const (
	minGrace = 200 * time.Microsecond
	maxGrace = 20 * time.Millisecond
)

// scheduler batches the forward passes of a model's sessions.
type scheduler struct {
	m     *Model
	mu    sync.Mutex // guards the choice of a lane (the lanes' active counts)
	lanes []*lane
}

// newScheduler returns the scheduler of m, whose forward passes use
// threads threads each.
func newScheduler(m *Model, threads int) *scheduler {
	n := max(1, runtime.GOMAXPROCS(0)/max(1, threads))
	s := &scheduler{m: m, lanes: make([]*lane, n)}
	for i := range s.lanes {
		s.lanes[i] = &lane{m: m, work: model.NewWorkspace(m.pool), kick: make(chan struct{}, 1)}
	}
	return s
}

// join returns the lane with the fewest sessions and counts one more.
func (s *scheduler) join() *lane {
	s.mu.Lock()
	defer s.mu.Unlock()
	best := s.lanes[0]
	for _, l := range s.lanes[1:] {
		if l.load() < best.load() {
			best = l
		}
	}
	best.mu.Lock()
	best.active++
	best.mu.Unlock()
	return best
}

// lane is one stream of batch steps: a runner goroutine (while there is
// work) and the scratch memory of its forward passes.
type lane struct {
	m    *Model
	kick chan struct{} // wakes a runner waiting for stragglers

	mu       sync.Mutex
	work     *model.Workspace // used by the runner; replaced (under mu) when the lane idles
	queue    []*step          // pending steps, oldest first
	active   int              // sessions joined
	running  bool             // a runner goroutine is alive
	lastStep time.Duration
	steps    int              // batch steps run (statistics)
	seqs     int              // sequences those steps ran
	inputs   []model.SeqInput // runner scratch
}

// stats returns the number of batch steps the scheduler ran and the number
// of sequence steps they held (more sequences than steps: batching).
func (s *scheduler) stats() (steps, seqs int) {
	for _, l := range s.lanes {
		l.mu.Lock()
		steps += l.steps
		seqs += l.seqs
		l.mu.Unlock()
	}
	return steps, seqs
}

// load returns the number of sessions using the lane.
func (l *lane) load() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.active
}

// step is one sequence's share of a batch step.
type step struct {
	cache  *model.KVCache
	tokens []int32
	mode   model.LogitsMode
	done   <-chan struct{} // the caller's cancellation
	out    *[]float32      // receives a copy of the logits
	fin    chan struct{}   // closed when the step ran (or failed)
	err    error           // set before fin is closed
}

// leave uncounts a session that joined.
func (l *lane) leave() {
	l.mu.Lock()
	l.active--
	if !l.running {
		l.idle()
	}
	l.mu.Unlock()
	l.wake()
}

// idle drops the scratch memory of a lane no session uses, so that a model
// between calls holds none. l.mu is held and no runner is running.
func (l *lane) idle() {
	if l.active == 0 {
		l.work = model.NewWorkspace(l.m.pool)
	}
}

// wake nudges a runner waiting for stragglers.
func (l *lane) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// submit queues st and makes sure a runner will run it.
func (l *lane) submit(st *step) {
	l.mu.Lock()
	l.queue = append(l.queue, st)
	start := !l.running
	l.running = true
	l.mu.Unlock()
	if start {
		go l.run()
	} else {
		l.wake()
	}
}

// withdraw removes st from the queue if it has not started; it reports
// whether it did.
func (l *lane) withdraw(st *step) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, q := range l.queue {
		if q == st {
			l.queue = append(l.queue[:i], l.queue[i+1:]...)
			return true
		}
	}
	return false
}

// run is the runner: it runs batch steps until the queue is empty.
func (l *lane) run() {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		l.mu.Lock()
		// Wait (bounded) for every session of the lane to submit.
		if len(l.queue) > 0 && len(l.queue) < l.active {
			grace := min(max(l.lastStep/2, minGrace), maxGrace)
			deadline := time.Now().Add(grace)
			for len(l.queue) > 0 && len(l.queue) < l.active {
				left := time.Until(deadline)
				if left <= 0 {
					break
				}
				l.mu.Unlock()
				timer.Reset(left)
				select {
				case <-l.kick:
				case <-timer.C:
				}
				timer.Stop()
				l.mu.Lock()
			}
		}
		if len(l.queue) == 0 {
			l.running = false
			l.idle()
			l.mu.Unlock()
			return
		}
		batch := l.take()
		l.mu.Unlock()
		l.exec(batch)
	}
}

// take removes and returns the steps of the next batch: every decoding
// step and prompt chunks, oldest first, within stepPromptTokens (at least
// one). l.mu is held.
func (l *lane) take() []*step {
	var batch []*step
	budget := stepPromptTokens
	rest := l.queue[:0]
	for _, st := range l.queue {
		n := len(st.tokens)
		switch {
		case n == 1:
			batch = append(batch, st)
		case n <= budget || budget == stepPromptTokens:
			batch = append(batch, st)
			budget = max(0, budget-n)
		default:
			rest = append(rest, st)
		}
	}
	clear(l.queue[len(rest):])
	l.queue = rest
	return batch
}

// exec runs one batch step and reports to every step of it.
func (l *lane) exec(batch []*step) {
	start := time.Now()
	err := l.forward(batch)
	if err != nil && len(batch) > 1 && !errors.Is(err, errs.ErrCancelled) && !errors.Is(err, errs.ErrClosed) {
		// A sequence the model refused: run each alone, so that only the
		// faulty one fails (a failed Forward changes no cache).
		for _, st := range batch {
			st.err = l.forward([]*step{st})
		}
	} else {
		for _, st := range batch {
			st.err = err
		}
	}
	l.mu.Lock()
	l.lastStep = time.Since(start)
	l.steps++
	l.seqs += len(batch)
	l.mu.Unlock()
	for _, st := range batch {
		close(st.fin)
	}
}

// forward runs batch as one forward pass and copies out the logits.
func (l *lane) forward(batch []*step) error {
	in := l.inputs[:0]
	for _, st := range batch {
		in = append(in, model.SeqInput{Cache: st.cache, Tokens: st.tokens, Logits: st.mode, Done: st.done})
	}
	l.inputs = in
	defer clear(in)
	if err := l.m.acquire(); err != nil {
		return err
	}
	defer l.m.mu.RUnlock()
	if err := l.m.net.Forward(l.work, in); err != nil {
		return err
	}
	for i, st := range batch {
		*st.out = append((*st.out)[:0], in[i].Out...)
	}
	return nil
}

// runStep evaluates tokens after the cache's contents as one step of the
// session's lane and returns the logits mode asks for (valid until the
// session's next step). When ctx is cancelled it returns at once with an
// error wrapping errs.ErrCancelled: a step already running finishes (or
// stops early, if all of its batch is cancelled) without the caller, and
// the session settles it before its next use. s.mu is held.
func (s *Session) runStep(ctx context.Context, tokens []int32, mode model.LogitsMode) ([]float32, error) {
	if s.lane == nil {
		s.lane = s.m.batch.join()
	}
	st := &step{cache: s.cache, tokens: tokens, mode: mode, done: ctx.Done(), out: &s.logits, fin: make(chan struct{})}
	s.lane.submit(st)
	select {
	case <-st.fin:
	case <-ctx.Done():
		if !s.lane.withdraw(st) {
			s.inflight = st
		}
		return nil, fmt.Errorf("%w: %v", errs.ErrCancelled, ctx.Err())
	}
	if st.err != nil {
		return nil, st.err
	}
	s.tokens = append(s.tokens, tokens...)
	if mode == model.LogitsNone {
		return nil, nil
	}
	return s.logits, nil
}

// settle waits for a step the session gave up on (see runStep) and drops
// what it added to the cache, which then holds s.tokens again. s.mu is held.
func (s *Session) settle() {
	if s.inflight == nil {
		return
	}
	<-s.inflight.fin
	s.inflight = nil
	s.cache.Truncate(len(s.tokens))
}

// leaveLane ends the session's use of its lane at the end of a call. s.mu
// is held.
func (s *Session) leaveLane() {
	if s.lane != nil {
		s.lane.leave()
		s.lane = nil
	}
}
