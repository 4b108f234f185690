//go:build !linux

package tensor

// adviseHugePages does nothing: huge pages are only requested on Linux.
func adviseHugePages(b []byte) {}

// osAlloc returns n zero bytes from the Go heap (see the Linux version).
func osAlloc(n int) *packedMem { return &packedMem{b: make([]byte, n)} }

// promoteHugePages does nothing: huge pages are only requested on Linux.
func promoteHugePages(own *packedMem, b []byte) {}

// waitHugePages returns at once (see the Linux version).
func waitHugePages() {}
