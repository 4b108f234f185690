package sample

import "math"

// Exp32 returns e**x rounded to float32. It is the one exponential the
// sampler uses, written so that it gives bit-identical results everywhere
// it runs: natively on any GOARCH and inside the default WebAssembly guest,
// whose C source (guest/include/realm_chain.h, realm_exp32) performs the
// same float64 operations in the same order.
//
// math.Exp cannot serve: it has assembly versions on amd64 and arm64 that
// differ from the portable one, and C's expf differs again. Here every
// product is converted explicitly (float64(a*b)) so that Go never fuses a
// multiply and an add into an FMA (the Go spec allows fusion otherwise, and
// arm64 does it); WebAssembly has no fused multiply-add at all.
//
// Method: x = k*ln2 + r with |r| <= ln2/2 (Cody-Waite reduction with a
// two-part ln2), e**r by its Taylor polynomial of degree 13 (relative error
// below 1e-17), scaled by 2**k, then one rounding to float32. The float64
// result is within a few units of the last place of float64, so Exp32
// equals float32(math.Exp(float64(x))) except when that value lies within
// about 1e-16 of a float32 rounding boundary.
func Exp32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > 89: // e**89 > MaxFloat32
		return float32(math.Inf(1))
	case x < -104: // e**-104 < half the smallest float32 subnormal
		return 0
	}
	const (
		log2e = 0x1.71547652b82fep+0
		ln2Hi = 0x1.62e42feep-1 // ln2 with 32 trailing zero bits: k*ln2Hi is exact
		ln2Lo = 0x1.a39ef35793c76p-33
	)
	d := float64(x)
	k := math.Floor(float64(d*log2e) + 0.5)
	r := float64(d-float64(k*ln2Hi)) - float64(k*ln2Lo)
	p := 0x1.6124613a86d09p-33 // 1/13!
	p = 0x1.1eed8eff8d898p-29 + float64(p*r)
	p = 0x1.ae64567f544e4p-26 + float64(p*r)
	p = 0x1.27e4fb7789f5cp-22 + float64(p*r)
	p = 0x1.71de3a556c734p-19 + float64(p*r)
	p = 0x1.a01a01a01a01ap-16 + float64(p*r)
	p = 0x1.a01a01a01a01ap-13 + float64(p*r)
	p = 0x1.6c16c16c16c17p-10 + float64(p*r)
	p = 0x1.1111111111111p-07 + float64(p*r)
	p = 0x1.5555555555555p-05 + float64(p*r)
	p = 0x1.5555555555555p-03 + float64(p*r)
	p = 0x1p-01 + float64(p*r)
	p = 1 + float64(p*r)
	p = 1 + float64(p*r)
	// -151 <= k <= 129: 2**k is a normal float64, so the product is exact
	// up to its own rounding and the conversion rounds once to float32.
	scale := math.Float64frombits(uint64(int64(k)+1023) << 52)
	return float32(p * scale)
}
