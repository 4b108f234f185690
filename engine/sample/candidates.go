package sample

import (
	"math"
	"slices"
)

// Candidate is one token a policy may choose, with its logit after the
// repetition penalty.
type Candidate struct {
	ID    int32
	Logit float32
}

// MaxCandidates is the longest candidate list the host stage hands a policy.
const MaxCandidates = 256

// CandidateCount returns how many candidates the host stage extracts for a
// top_k setting: top_k itself when 0 < topK <= MaxCandidates, else
// MaxCandidates.
func CandidateCount(topK int) int {
	if topK > 0 && topK <= MaxCandidates {
		return topK
	}
	return MaxCandidates
}

// better is the candidate order: higher logit first, lower id on ties.
func better(a, b Candidate) bool {
	return a.Logit > b.Logit || (a.Logit == b.Logit && a.ID < b.ID)
}

// TopCandidates appends to dst[:0] the n best tokens of logits in order
// (highest logit first, lower id on ties) and returns it. NaN logits count
// as -Inf.
func TopCandidates(logits []float32, n int, dst []Candidate) []Candidate {
	n = min(n, len(logits))
	h := dst[:0]
	if n <= 0 {
		return h
	}
	// h is a min-heap on `better`: h[0] is the worst candidate kept so far.
	for id, l := range logits {
		if l != l {
			l = float32(math.Inf(-1))
		}
		c := Candidate{ID: int32(id), Logit: l}
		if len(h) < n {
			h = append(h, c)
			heapUp(h, len(h)-1)
			continue
		}
		if l < h[0].Logit || !better(c, h[0]) {
			continue
		}
		h[0] = c
		heapDown(h, 0)
	}
	slices.SortFunc(h, func(a, b Candidate) int {
		if better(a, b) {
			return -1
		}
		if better(b, a) {
			return 1
		}
		return 0
	})
	return h
}

func heapUp(h []Candidate, i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !better(h[parent], h[i]) {
			return
		}
		h[parent], h[i] = h[i], h[parent]
		i = parent
	}
}

func heapDown(h []Candidate, i int) {
	for {
		worst := i
		l, r := 2*i+1, 2*i+2
		if l < len(h) && better(h[worst], h[l]) {
			worst = l
		}
		if r < len(h) && better(h[worst], h[r]) {
			worst = r
		}
		if worst == i {
			return
		}
		h[i], h[worst] = h[worst], h[i]
		i = worst
	}
}

// penalize applies llama.cpp's repetition penalty in place: each distinct
// token of window has a positive logit divided by penalty and a non-positive
// one multiplied by it. Ids outside [0, len(logits)) are ignored. It returns
// the original logits (in saved's storage) so restore can undo it; ids is
// scratch.
func penalize(logits []float32, window []int32, penalty float32, ids []int32, saved []Candidate) ([]int32, []Candidate) {
	ids = append(ids[:0], window...)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	saved = saved[:0]
	for _, id := range ids {
		if id < 0 || int(id) >= len(logits) {
			continue
		}
		saved = append(saved, Candidate{ID: id, Logit: logits[id]})
		if logits[id] <= 0 {
			logits[id] *= penalty
		} else {
			logits[id] /= penalty
		}
	}
	return ids, saved
}

// restore undoes penalize.
func restore(logits []float32, saved []Candidate) {
	for _, c := range saved {
		logits[c.ID] = c.Logit
	}
}
