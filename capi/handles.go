package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/mattn/go-pointer"
	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/registry"
)

// A handle is what a C handle (realm_t, realm_registry_t, realm_stream_t)
// points to, through go-pointer: C never holds a Go pointer, only a unique
// 1-byte C allocation that indexes go-pointer's table. Restore on a
// pointer that is not in the table (a foreign pointer, or one released
// long ago) gives nil, which we report as a closed handle.
type handle struct {
	obj   any // *registry.Realm, *registry.Registry or *registry.Stream
	freed atomic.Bool
}

// quarantineSize is how many freed handles stay in the table, marked
// freed, before their C allocation is returned to malloc. While a freed
// handle is quarantined its address cannot be handed out again, so using
// it reliably gives REALM_ERR_CLOSED instead of reaching whatever object
// the allocator would put at the same address next.
const quarantineSize = 4096

var (
	quarantineMu sync.Mutex
	quarantine   []unsafe.Pointer
)

// newHandle registers obj and returns its C handle.
func newHandle(obj any) unsafe.Pointer { return pointer.Save(&handle{obj: obj}) }

// kindName names the kind of a handle's object for error messages.
func kindName(obj any) string {
	switch obj.(type) {
	case *registry.Realm:
		return "realm_t"
	case *registry.Registry:
		return "realm_registry_t"
	case *registry.Stream:
		return "realm_stream_t"
	}
	return fmt.Sprintf("%T", obj)
}

// lookup returns the object of type T behind the C handle p: NULL is an
// invalid argument; a freed, unknown or foreign handle is closed; a handle
// of another kind is an invalid argument.
func lookup[T any](p unsafe.Pointer, what string) (T, *handle, error) {
	var zero T
	if p == nil {
		return zero, nil, fmt.Errorf("%w: %s is NULL", errs.ErrInvalidArgument, what)
	}
	h, ok := pointer.Restore(p).(*handle)
	if !ok || h.freed.Load() {
		return zero, nil, fmt.Errorf("%w: %s %p was freed or is not a handle of this library", errs.ErrClosed, what, p)
	}
	obj, ok := h.obj.(T)
	if !ok {
		return zero, nil, fmt.Errorf("%w: %s: got a %s handle", errs.ErrInvalidArgument, what, kindName(h.obj))
	}
	return obj, h, nil
}

// release marks the handle p freed (exactly once: a second release fails
// like any use of a freed handle) and returns its object for closing. The
// handle stays in the table, quarantined, for a while.
func release[T any](p unsafe.Pointer, what string) (T, error) {
	obj, h, err := lookup[T](p, what)
	if err != nil {
		return obj, err
	}
	if !h.freed.CompareAndSwap(false, true) {
		var zero T
		return zero, fmt.Errorf("%w: %s %p was freed", errs.ErrClosed, what, p)
	}
	quarantineMu.Lock()
	quarantine = append(quarantine, p)
	var evict unsafe.Pointer
	if len(quarantine) > quarantineSize {
		evict = quarantine[0]
		quarantine = quarantine[1:]
	}
	quarantineMu.Unlock()
	if evict != nil {
		pointer.Unref(evict)
	}
	return obj, nil
}
