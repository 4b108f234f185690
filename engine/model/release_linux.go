package model

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// releaseFilePages drops the whole pages inside b, which must be part of a
// shared read-only file mapping, from the process (madvise MADV_DONTNEED):
// they leave its resident set, stay in the page cache, and are read back
// unchanged if touched again. Errors are ignored: the pages then stay.
func releaseFilePages(b []byte) {
	page := uintptr(os.Getpagesize())
	if uintptr(len(b)) < page {
		return
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start := (p + page - 1) &^ (page - 1)
	end := (p + uintptr(len(b))) &^ (page - 1)
	if end <= start {
		return
	}
	_ = unix.Madvise(b[start-p:end-p], unix.MADV_DONTNEED)
}
