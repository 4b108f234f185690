//go:build !amd64 || noasm || !gc

package tensor

// asmKernelSets is empty without assembly: every type runs the portable
// kernels of dot.go.
var asmKernelSets []kernelSet

// quantizeQ8 is the Q8_0/Q8_1 activation quantizer: the portable one.
var quantizeQ8 = quantizeActQ8

// attnScores and attnAccumulate are the portable attention kernels.
var (
	attnScores     = attnScoresGo
	attnAccumulate = attnAccumulateGo
)

// kTiledKernels is empty without assembly (see KTiledAvailable).
var kTiledKernels map[Type]kTiledAsm

// softmaxF16 has no portable version here (see SoftmaxF16).
func softmaxF16(s []float32, first, n int) bool { return false }

// swiglu16 has no portable version here (see SwiGLU16).
func swiglu16(gate, up []float32) int { return 0 }

// narrowF16, widenF16 and roundF16s have no assembly here: they do
// nothing and the callers convert every value in Go.
func narrowF16(dst []uint16, src []float32) int { return 0 }
func widenF16(dst []float32, src []uint16) int  { return 0 }
func roundF16s(x []float32) int                 { return 0 }
