package model

import "math"

// sincosf returns the float32 sine and cosine of y computed exactly as
// glibc's sincosf (sysdeps/ieee754/flt-32, from ARM's optimized routines)
// does, which is what ggml's RoPE gets from cosf and sinf on Linux. glibc
// is not always correctly rounded (about 1 value in 10,000 differs from
// float32(math.Sin(y)) by one ulp), and one ulp in a rotated query is
// enough to change a later activation's quantization, so Realm computes
// the angles the way llama.cpp does.
//
// The argument is reduced to [-pi/4, pi/4] (by one multiply for |y| < 120,
// else with 4/pi to 192 bits in integer arithmetic) and the sine and cosine
// polynomials are evaluated in float64. Every operation is rounded
// separately (no fused multiply-add), which gives the same results as
// glibc's FMA build on every input the RoPE tables use (checked against
// glibc for positions 0..8191 of a 64-dimension head).
func sincosf(y float32) (sin, cos float32) {
	x := float64(y)
	p := &sincosTables[0]
	switch abs := abstop12(y); {
	case abs < abstop12(float32(pio4)):
		if abs < abstop12(0x1p-12) {
			return y, 1
		}
		return sincosPoly(x, x*x, p, 0)
	case abs < abstop12(120):
		// n = round(x * 2/pi): the quadrant, taken from bits 24..31 of a
		// prescaled product.
		r := x * p.hpiInv
		n := int((int32(r) + 0x800000) >> 24)
		x -= float64(float64(n) * p.hpi)
		s := p.sign[n&3]
		if n&2 != 0 {
			p = &sincosTables[1]
		}
		return sincosPoly(x*s, x*x, p, n)
	case abs < abstop12(float32(math.Inf(1))):
		xi := math.Float32bits(y)
		sign := int(xi >> 31)
		x, n := reduceLarge(xi)
		s := p.sign[(n+sign)&3]
		if (n+sign)&2 != 0 {
			p = &sincosTables[1]
		}
		return sincosPoly(x*s, x*x, p, n)
	default:
		nan := y - y
		return nan, nan
	}
}

const pio4 = 0x1.921FB54442D18p-1

// sincosTable holds the polynomials of one half of the quadrants; the
// second entry has the cosine polynomial negated.
type sincosTable struct {
	sign               [4]float64 // sign of the sine per quadrant
	hpiInv             float64    // 2/pi * 2^24
	hpi                float64    // pi/2
	c0, c1, c2, c3, c4 float64    // cosine polynomial
	s1, s2, s3         float64    // sine polynomial
}

var sincosTables = [2]sincosTable{
	{[4]float64{1, -1, -1, 1}, 0x1.45F306DC9C883p+23, 0x1.921FB54442D18p0,
		0x1p0, -0x1.ffffffd0c621cp-2, 0x1.55553e1068f19p-5, -0x1.6c087e89a359dp-10, 0x1.99343027bf8c3p-16,
		-0x1.555545995a603p-3, 0x1.1107605230bc4p-7, -0x1.994eb3774cf24p-13},
	{[4]float64{1, -1, -1, 1}, 0x1.45F306DC9C883p+23, 0x1.921FB54442D18p0,
		-0x1p0, 0x1.ffffffd0c621cp-2, -0x1.55553e1068f19p-5, 0x1.6c087e89a359dp-10, -0x1.99343027bf8c3p-16,
		-0x1.555545995a603p-3, 0x1.1107605230bc4p-7, -0x1.994eb3774cf24p-13},
}

// invPio4 is 4/pi to 192 bits, 8 new bits per entry.
var invPio4 = [24]uint32{
	0xa2, 0xa2f9, 0xa2f983, 0xa2f9836e,
	0xf9836e4e, 0x836e4e44, 0x6e4e4415, 0x4e441529,
	0x441529fc, 0x1529fc27, 0x29fc2757, 0xfc2757d1,
	0x2757d1f5, 0x57d1f534, 0xd1f534dd, 0xf534ddc0,
	0x34ddc0db, 0xddc0db62, 0xc0db6295, 0xdb629599,
	0x6295993c, 0x95993c43, 0x993c4390, 0x3c439041,
}

// abstop12 returns the top 12 bits of |f|'s representation.
func abstop12(f float32) uint32 { return (math.Float32bits(f) >> 20) & 0x7ff }

// reduceLarge reduces |x| >= 120 (given as its bits) modulo pi/2 with a
// 32x96-bit fixed-point product by 4/pi, returning the remainder in
// [-pi/4, pi/4] and the quadrant.
func reduceLarge(xi uint32) (float64, int) {
	arr := invPio4[(xi>>26)&15:]
	shift := (xi >> 23) & 7
	xi = (xi&0xffffff | 0x800000) << shift
	res0 := uint64(xi * arr[0])
	res1 := uint64(xi) * uint64(arr[4])
	res2 := uint64(xi) * uint64(arr[8])
	res0 = res2>>32 | res0<<32
	res0 += res1
	n := (res0 + 1<<61) >> 62
	res0 -= n << 62
	return float64(int64(res0)) * 0x1.921FB54442D18p-62, int(n)
}

// sincosPoly evaluates sine and cosine of x in [-pi/4, pi/4] (x2 = x*x),
// swapping them in odd quadrants.
func sincosPoly(x, x2 float64, p *sincosTable, n int) (sin, cos float32) {
	x4 := x2 * x2
	x3 := x2 * x
	c2 := p.c3 + float64(x2*p.c4)
	s1 := p.s2 + float64(x2*p.s3)
	c1 := p.c0 + float64(x2*p.c1)
	x5 := x3 * x2
	x6 := x4 * x2
	s := x + float64(x3*p.s1)
	c := c1 + float64(x4*p.c2)
	sv := float32(s + float64(x5*s1))
	cv := float32(c + float64(x6*c2))
	if n&1 != 0 {
		return cv, sv
	}
	return sv, cv
}
