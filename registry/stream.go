package registry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/realm-ai/realm/engine"
	"github.com/realm-ai/realm/engine/errs"
)

// Errors of Stream.Next that are not failures.
var (
	// ErrTimeout means no chunk arrived within the timeout; call Next again.
	ErrTimeout = errors.New("stream: no chunk yet")
	// ErrDone means the stream has ended: its last chunk (or its error)
	// was returned by an earlier Next.
	ErrDone = errors.New("stream: done")
)

// closeWait bounds how long Close waits for the generation to stop after
// cancelling it. A generation stops within a token (or a prompt chunk), so
// the bound only matters for a stuck engine; the goroutine then finishes
// on its own and releases what it holds.
const closeWait = 10 * time.Second

// Chunk is one item of a Stream: a generated token, or the final chunk.
type Chunk struct {
	// Text is the text released with this chunk (possibly empty: text
	// that may be a stop string or an incomplete character is held back).
	// The final chunk's Text is what was held back when generation ended.
	Text string
	// Token is the generated token id, -1 in the final chunk.
	Token int32
	// Done marks the final chunk, which carries Result.
	Done bool
	// Result is the generation's result (final chunk only); its Text is
	// the concatenation of all chunks' Text.
	Result *engine.Result
	// Index is the prompt the chunk belongs to, in a batch stream (see
	// Realm.Stream); 0 otherwise.
	Index int
}

// Stream is a generation running in the background. Its chunks are
// buffered until read with Next. All methods are safe for concurrent use.
type Stream struct {
	cancel  context.CancelFunc
	cancels []context.CancelFunc // per prompt of a batch stream (set before it starts)
	done    chan struct{}        // closed when the generation goroutine returned

	mu        sync.Mutex
	queue     []Chunk
	finals    int   // final chunks the stream ends with (one per prompt)
	ended     int   // final chunks queued so far
	finished  bool  // the generation ended: queue holds everything
	err       error // the generation's failure, if any
	delivered bool  // the final chunk or err was returned by Next
	closed    bool
	wake      chan struct{} // closed and replaced on every change
}

func newStream(cancel context.CancelFunc) *Stream {
	return &Stream{cancel: cancel, done: make(chan struct{}), wake: make(chan struct{}), finals: 1}
}

// signal wakes every waiter. s.mu is held.
func (s *Stream) signal() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// push queues a token chunk (the engine's onToken callback). The final
// release of held-back text (ID -1) is kept for the final chunk.
func (s *Stream) push(t engine.Token) error { return s.pushAt(0, t) }

// pushAt is push for prompt i of a batch.
func (s *Stream) pushAt(i int, t engine.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.ID < 0 {
		s.queue = append(s.queue, Chunk{Text: t.Text, Token: -1, Index: i})
	} else {
		s.queue = append(s.queue, Chunk{Text: t.Text, Token: t.ID, Index: i})
	}
	s.signal()
	return nil
}

// finish records the end of the generation: the result of a single
// prompt, or the failure of the generation (then the stream ends whatever
// final chunks are missing).
func (s *Stream) finish(res *engine.Result, err error) {
	if err != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.err = err
		s.finished = true
		s.signal()
		return
	}
	s.finishAt(0, res)
}

// finishAt queues the final chunk of prompt i; the stream has ended once
// every prompt's is queued.
func (s *Stream) finishAt(i int, res *engine.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	final := Chunk{Token: -1, Done: true, Result: res, Index: i}
	// Held-back text released at the end travels in the final chunk: it is
	// the prompt's last chunk, if still queued.
	for j := len(s.queue) - 1; j >= 0; j-- {
		if c := s.queue[j]; c.Index == i {
			if c.Token < 0 && !c.Done {
				final.Text = c.Text
				s.queue = append(s.queue[:j], s.queue[j+1:]...)
			}
			break
		}
	}
	s.queue = append(s.queue, final)
	s.ended++
	s.finished = s.ended >= s.finals
	s.signal()
}

// Next returns the next chunk, waiting at most timeout for it (a negative
// timeout waits as long as it takes). It returns ErrTimeout when no chunk
// came in time, the generation's error once if it failed, ErrDone after
// the final chunk (or the error), and an error wrapping errs.ErrClosed
// after Close.
func (s *Stream) Next(timeout time.Duration) (Chunk, error) {
	var timer <-chan time.Time
	if timeout >= 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return Chunk{}, fmt.Errorf("%w: stream", errs.ErrClosed)
		}
		if len(s.queue) > 0 {
			c := s.queue[0]
			s.queue[0] = Chunk{}
			s.queue = s.queue[1:]
			if c.Done && s.ended >= s.finals && !hasFinal(s.queue) {
				s.delivered = true
			}
			s.mu.Unlock()
			return c, nil
		}
		if s.finished {
			err := ErrDone
			if !s.delivered && s.err != nil {
				err = s.err
			}
			s.delivered = true
			s.mu.Unlock()
			return Chunk{}, err
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-timer:
			return Chunk{}, ErrTimeout
		}
	}
}

// Cancel asks the generation to stop; it then ends with a final chunk
// whose Result has FinishReason "cancelled" (unless it had already ended).
// A batch stream stops every prompt.
func (s *Stream) Cancel() { s.cancel() }

// CancelPrompt asks prompt i of a batch stream (0 for a single prompt) to
// stop, as Cancel does for the whole stream; the other prompts go on. An
// index out of range is an error wrapping errs.ErrInvalidArgument.
func (s *Stream) CancelPrompt(i int) error {
	switch {
	case s.cancels == nil && i == 0:
		s.cancel()
	case i >= 0 && i < len(s.cancels):
		s.cancels[i]()
	default:
		return fmt.Errorf("%w: stream: no prompt %d", errs.ErrInvalidArgument, i)
	}
	return nil
}

// Close cancels the generation, wakes and fails pending Next calls, waits
// (bounded) for the generation to stop and drops the buffered chunks.
// It is idempotent.
func (s *Stream) Close() error {
	s.cancel()
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.queue = nil
	s.signal()
	s.mu.Unlock()
	if !already {
		select {
		case <-s.done:
		case <-time.After(closeWait):
		}
	}
	return nil
}

// Wait blocks until the generation has ended (for tests and shutdown).
func (s *Stream) Wait() { <-s.done }

// hasFinal reports whether q holds a final chunk.
func hasFinal(q []Chunk) bool {
	for _, c := range q {
		if c.Done {
			return true
		}
	}
	return false
}
