//go:build !amd64 || noasm || !gc

package tensor

// asmKernelSets is empty without assembly: every type runs the portable
// kernels of dot.go.
var asmKernelSets []kernelSet

// quantizeQ8 is the Q8_0/Q8_1 activation quantizer: the portable one.
var quantizeQ8 = quantizeActQ8
