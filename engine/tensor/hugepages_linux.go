package tensor

import (
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
