package model

import (
	"fmt"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/tensor"
)

// checkBatch validates a batch before a forward pass changes anything,
// reserves cache room for the new tokens and returns the total number of
// new tokens (rows) and the number of rows that want logits.
func checkBatch(c Config, batch []SeqInput) (rows, outRows int, err error) {
	if len(batch) == 0 {
		return 0, 0, fmt.Errorf("%w: forward: empty batch", errs.ErrInvalidArgument)
	}
	for i, s := range batch {
		switch {
		case s.Cache == nil:
			return 0, 0, fmt.Errorf("%w: forward: sequence %d has no cache", errs.ErrInvalidArgument, i)
		case len(s.Tokens) == 0:
			return 0, 0, fmt.Errorf("%w: forward: sequence %d has no tokens", errs.ErrInvalidArgument, i)
		case s.Cache.layers != c.Layers || s.Cache.kvDim != c.KVDim():
			return 0, 0, fmt.Errorf("%w: forward: sequence %d has a cache of another model", errs.ErrInvalidArgument, i)
		case s.Cache.Len()+len(s.Tokens) > s.Cache.MaxLen():
			return 0, 0, fmt.Errorf("%w: forward: sequence %d: %d cached + %d new tokens exceed the context of %d",
				errs.ErrContextLength, i, s.Cache.Len(), len(s.Tokens), s.Cache.MaxLen())
		}
		for j := range i {
			if batch[j].Cache == s.Cache {
				return 0, 0, fmt.Errorf("%w: forward: sequences %d and %d share a cache", errs.ErrInvalidArgument, j, i)
			}
		}
		for _, t := range s.Tokens {
			if t < 0 || int(t) >= c.Vocab {
				return 0, 0, fmt.Errorf("%w: forward: token %d out of range [0, %d)", errs.ErrInvalidArgument, t, c.Vocab)
			}
		}
		rows += len(s.Tokens)
		switch s.Logits {
		case LogitsLast:
			outRows++
		case LogitsAll:
			outRows += len(s.Tokens)
		}
	}
	for _, s := range batch {
		s.Cache.reserve(s.Cache.Len() + len(s.Tokens))
	}
	return rows, outRows, nil
}

// embed writes the embedding rows of the batch's tokens into x (rows, n_embd).
func embed(table *tensor.Matrix, batch []SeqInput, x []float32, embd int) {
	r := 0
	for _, s := range batch {
		for _, t := range s.Tokens {
			table.Row(int(t), x[r*embd:(r+1)*embd])
			r++
		}
	}
}

// ropeAngles fills w.cs with the RoPE cos/sin pairs of every row's position.
func ropeAngles(w *Workspace, rp *rope, batch []SeqInput, rows int) []float32 {
	cs := grow(&w.cs, rows*rp.dims)
	r := 0
	for _, s := range batch {
		for i := range s.Tokens {
			rp.angles(s.Cache.Len()+i, cs[r*rp.dims:(r+1)*rp.dims])
			r++
		}
	}
	return cs
}

// outputLogits normalises the rows of x that want logits, multiplies them by
// the output matrix and points each sequence's Out at its logits.
func outputLogits(w *Workspace, c Config, batch []SeqInput, x []float32, outRows int, norm []float32, output *tensor.Matrix) {
	if outRows == 0 {
		for i := range batch {
			batch[i].Out = nil
		}
		return
	}
	e := c.Embd
	sel := grow(&w.outRows, outRows*e)
	n, r := 0, 0
	for _, s := range batch {
		switch s.Logits {
		case LogitsLast:
			last := r + len(s.Tokens) - 1
			rmsNorm(sel[n*e:(n+1)*e], x[last*e:(last+1)*e], norm, c.RMSEps)
			n++
		case LogitsAll:
			for i := range s.Tokens {
				rmsNorm(sel[n*e:(n+1)*e], x[(r+i)*e:(r+i+1)*e], norm, c.RMSEps)
				n++
			}
		}
		r += len(s.Tokens)
	}
	logits := grow(&w.logits, outRows*c.Vocab)
	output.Mul(w.pool, sel, outRows, logits)
	n = 0
	for i, s := range batch {
		k := 0
		switch s.Logits {
		case LogitsLast:
			k = 1
		case LogitsAll:
			k = len(s.Tokens)
		}
		batch[i].Out = nil
		if k > 0 {
			batch[i].Out = logits[n*c.Vocab : (n+k)*c.Vocab]
		}
		n += k
	}
}

// commit advances every cache past its new tokens.
func commit(batch []SeqInput) {
	for _, s := range batch {
		s.Cache.n += len(s.Tokens)
	}
}

// cancelled reports whether every sequence of the batch is cancelled (see
// SeqInput.Done), and if so returns the error Forward stops with.
func cancelled(batch []SeqInput) error {
	for _, s := range batch {
		if s.Done == nil {
			return nil
		}
		select {
		case <-s.Done:
		default:
			return nil
		}
	}
	return fmt.Errorf("%w: forward pass", errs.ErrCancelled)
}
