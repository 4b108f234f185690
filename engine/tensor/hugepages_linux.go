package tensor

import (
	"runtime"
	"sync"
	"syscall"
	"unsafe"
)

// hugePage is the size of an x86-64 (and common arm64) transparent huge page.
const hugePage = 2 << 20

// madvCollapse is MADV_COLLAPSE (Linux 6.1): collapse the range into
// transparent huge pages now, in the calling thread, keeping its contents.
const madvCollapse = 25

// hugeRange returns the whole 2 MiB pages that cover b, clipped to the
// whole pages inside within (b's mapping), or nil.
func hugeRange(b, within []byte) []byte {
	if len(b) == 0 || len(within) < hugePage {
		return nil
	}
	w0 := uintptr(unsafe.Pointer(unsafe.SliceData(within)))
	lo := max((uintptr(unsafe.Pointer(unsafe.SliceData(b))))&^(hugePage-1), (w0+hugePage-1)&^(hugePage-1))
	hi := min((uintptr(unsafe.Pointer(unsafe.SliceData(b)))+uintptr(len(b))+hugePage-1)&^(hugePage-1),
		(w0+uintptr(len(within)))&^(hugePage-1))
	if hi <= lo {
		return nil
	}
	return within[lo-w0 : hi-w0]
}

// adviseHugePages asks the kernel to back the whole 2 MiB pages inside b
// with transparent huge pages (madvise MADV_HUGEPAGE). It only helps
// before b is first touched, and failure (no THP support) is harmless.
func adviseHugePages(b []byte) {
	if r := hugeRange(b, b); r != nil {
		_ = syscall.Madvise(r, syscall.MADV_HUGEPAGE)
	}
}

// osAlloc returns n zero bytes mapped outside the Go heap (anonymous
// private memory), unmapped once the returned packedMem is unreachable. If
// the mapping fails it falls back to the heap, advised to use huge pages.
//
// The mapping starts on small pages: faulting in fresh huge pages cost
// more than the packing itself at load (on this VM, Gemma 3's load went
// from ~120 to ~280 ms with them), so promoteHugePages moves the finished
// copies to huge pages in the background instead.
func osAlloc(n int) *packedMem {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		b = make([]byte, n)
		adviseHugePages(b)
		return &packedMem{b: b}
	}
	own := &packedMem{b: b, mapped: true}
	runtime.AddCleanup(own, func(b []byte) { _ = syscall.Munmap(b) }, b)
	return own
}

// hugeJob is a finished packed copy waiting to be collapsed into huge
// pages; own keeps its mapping alive until then.
type hugeJob struct {
	own *packedMem
	b   []byte
}

// hugeQueue holds the copies promoteHugePages was given; one goroutine
// drains it while it is not empty.
var hugeQueue struct {
	sync.Mutex
	jobs    []hugeJob
	running bool
	idle    *sync.Cond // signalled when the queue is empty and no goroutine runs
}

// promoteHugePages queues the finished packed copy b (in own's mapping)
// to be collapsed into transparent huge pages (MADV_HUGEPAGE, then
// MADV_COLLAPSE) by a background goroutine, so that the decode streams it
// from 2 MiB pages without the load waiting for them. The contents never
// change; readers may use b meanwhile. Kernels without MADV_COLLAPSE leave
// the pages to khugepaged.
func promoteHugePages(own *packedMem, b []byte) {
	if own == nil || !own.mapped || hugeRange(b, own.b) == nil {
		return
	}
	q := &hugeQueue
	q.Lock()
	defer q.Unlock()
	q.jobs = append(q.jobs, hugeJob{own, b})
	if !q.running {
		q.running = true
		go drainHugeQueue()
	}
}

// drainHugeQueue collapses queued copies until the queue is empty.
func drainHugeQueue() {
	q := &hugeQueue
	for {
		q.Lock()
		if len(q.jobs) == 0 {
			q.running = false
			if q.idle != nil {
				q.idle.Broadcast()
			}
			q.Unlock()
			return
		}
		j := q.jobs[0]
		q.jobs[0] = hugeJob{}
		q.jobs = q.jobs[1:]
		q.Unlock()
		if r := hugeRange(j.b, j.own.b); r != nil {
			_ = syscall.Madvise(r, syscall.MADV_HUGEPAGE)
			_ = syscall.Madvise(r, madvCollapse)
		}
		runtime.KeepAlive(j.own)
	}
}

// waitHugePages blocks until every queued copy has been collapsed (tests).
func waitHugePages() {
	q := &hugeQueue
	q.Lock()
	defer q.Unlock()
	if q.idle == nil {
		q.idle = sync.NewCond(&q.Mutex)
	}
	for q.running {
		q.idle.Wait()
	}
}
