package tensor

import (
	"runtime"
	"syscall"
	"unsafe"
)

// hugePage is the size of an x86-64 (and common arm64) transparent huge page.
const hugePage = 2 << 20

// adviseHugePages asks the kernel to back the whole 2 MiB pages inside b
// with transparent huge pages (madvise MADV_HUGEPAGE). It only helps
// before b is first touched, and failure (no THP support) is harmless.
func adviseHugePages(b []byte) {
	if len(b) < hugePage {
		return
	}
	p := uintptr(unsafe.Pointer(&b[0]))
	start := (p + hugePage - 1) &^ (hugePage - 1)
	end := (p + uintptr(len(b))) &^ (hugePage - 1)
	if end <= start {
		return
	}
	_ = syscall.Madvise(b[start-p:end-p], syscall.MADV_HUGEPAGE)
}

// osAlloc returns n zero bytes mapped outside the Go heap (anonymous
// private memory), advised to use huge pages and unmapped once the
// returned packedMem is unreachable. If the mapping fails it falls back to
// the heap.
func osAlloc(n int) *packedMem {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		b = make([]byte, n)
		adviseHugePages(b)
		return &packedMem{b: b}
	}
	adviseHugePages(b)
	own := &packedMem{b: b}
	runtime.AddCleanup(own, func(b []byte) { _ = syscall.Munmap(b) }, b)
	return own
}
