package sample

// mt19937 is the 32-bit Mersenne Twister (Matsumoto & Nishimura 1998), the
// generator behind C++'s std::mt19937 that llama.cpp's "dist" sampler draws
// from. Using the same generator and the same way of turning its output into
// a double in [0, 1) means a run seeded like llama.cpp draws the same random
// numbers llama.cpp would.
type mt19937 struct {
	state [mtN]uint32
	index int
}

const (
	mtN         = 624
	mtM         = 397
	mtMatrixA   = 0x9908b0df
	mtUpperMask = 0x80000000
	mtLowerMask = 0x7fffffff
)

// seed initialises the state exactly like std::mt19937::seed(value).
func (g *mt19937) seed(s uint32) {
	g.state[0] = s
	for i := 1; i < mtN; i++ {
		prev := g.state[i-1]
		g.state[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	g.index = mtN
}

// twist regenerates the whole state block.
func (g *mt19937) twist() {
	for i := 0; i < mtN; i++ {
		y := g.state[i]&mtUpperMask | g.state[(i+1)%mtN]&mtLowerMask
		next := g.state[(i+mtM)%mtN] ^ (y >> 1)
		if y&1 != 0 {
			next ^= mtMatrixA
		}
		g.state[i] = next
	}
	g.index = 0
}

// uint32 returns the next tempered output.
func (g *mt19937) uint32() uint32 {
	if g.index >= mtN {
		g.twist()
	}
	y := g.state[g.index]
	g.index++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// float64 returns a double in [0, 1) the way libstdc++'s
// std::generate_canonical<double, 53> does for a 32-bit generator: two draws,
// the second weighted by 2^32, divided by 2^64, clamped below 1.
func (g *mt19937) float64() float64 {
	const two32 = 4294967296.0
	sum := float64(g.uint32())
	sum += float64(g.uint32()) * two32
	r := sum / (two32 * two32)
	if r >= 1 {
		r = 0.99999999999999989 // nextafter(1, 0)
	}
	return r
}
