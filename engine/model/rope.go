package model

import "math"

// rope is the rotary position embedding of one model, computed as ggml's
// CPU ggml_rope_ext does it without YaRN extrapolation.
type rope struct {
	dims       int       // leading dimensions of each head that rotate
	thetaScale float32   // base^(-2/dims): angle ratio between consecutive pairs
	freqScale  float32   // 1 / linear scaling factor
	factors    []float32 // per-pair frequency divisors (rope_freqs.weight), or nil
}

func newRope(dims int, base, freqScale float32, factors []float32) rope {
	exp := float32(-2.0) / float32(dims)
	return rope{
		dims:       dims,
		thetaScale: float32(math.Pow(float64(base), float64(exp))),
		freqScale:  freqScale,
		factors:    factors,
	}
}

// angles fills cs (dims values) with the cosine and sine of each pair's
// angle at pos, interleaved, as ggml_rope_cache_init: the angle starts at
// pos, is multiplied by thetaScale in float32 from one pair to the next,
// and its sine and cosine are glibc's (sincosf).
func (r *rope) angles(pos int, cs []float32) {
	theta := float32(pos)
	for i := 0; i < r.dims/2; i++ {
		t := theta
		if r.factors != nil {
			t /= r.factors[i]
		}
		cs[2*i+1], cs[2*i] = sincosf(r.freqScale * t)
		theta *= r.thetaScale
	}
}

// rotateAdjacent rotates pairs (x[2i], x[2i+1]) of the first dims values of
// every head in x (heads of width headDim) by the angles in cs: ggml's
// "normal" RoPE mode, used by llama (whose converted Q and K weights are
// permuted for it). The two products of each output are fused the way GCC
// compiles ggml's rotate_pairs: x0*cos - x1*sin as fma(x0, cos, -(x1*sin)).
func (r *rope) rotateAdjacent(x []float32, headDim int, cs []float32) {
	for h := 0; h+headDim <= len(x); h += headDim {
		v := x[h : h+r.dims]
		for i := 0; i < r.dims; i += 2 {
			c, s := cs[i], cs[i+1]
			x0, x1 := v[i], v[i+1]
			v[i] = fma32(x0, c, -(x1 * s))
			v[i+1] = fma32(x0, s, x1*c)
		}
	}
}

// rotateNeox rotates pairs (x[i], x[i+dims/2]), i < dims/2, of the first
// dims values of every head in x (heads of width headDim) by the angles in
// cs: ggml's NEOX RoPE mode (GPT-NeoX, Gemma, Qwen), whose pair i turns by
// the angle of cs[2i], cs[2i+1]. Products are fused as in rotateAdjacent.
func (r *rope) rotateNeox(x []float32, headDim int, cs []float32) {
	half := r.dims / 2
	for h := 0; h+headDim <= len(x); h += headDim {
		v := x[h : h+r.dims]
		for i := 0; i < half; i++ {
			c, s := cs[2*i], cs[2*i+1]
			x0, x1 := v[i], v[i+half]
			v[i] = fma32(x0, c, -(x1 * s))
			v[i+half] = fma32(x0, s, x1*c)
		}
	}
}
