package tensor

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestHugeRange checks the 2 MiB pages promoteHugePages collapses: those
// covering the copy, never outside its mapping.
func TestHugeRange(t *testing.T) {
	own := osAlloc(8 * hugePage)
	within := own.b
	base := uintptr(unsafe.Pointer(unsafe.SliceData(within)))
	off := int((base+hugePage-1)&^(hugePage-1) - base) // first whole page
	addr := func(b []byte) int { return int(uintptr(unsafe.Pointer(unsafe.SliceData(b))) - base) }
	// A copy inside one page gets that page.
	r := hugeRange(within[off+100:off+200], within)
	require.Equal(t, off, addr(r))
	require.Equal(t, hugePage, len(r))
	// A copy across a page boundary gets both pages.
	r = hugeRange(within[off+hugePage-10:off+hugePage+10], within)
	require.Equal(t, off, addr(r))
	require.Equal(t, 2*hugePage, len(r))
	// A copy ending exactly on a boundary does not take the next page.
	r = hugeRange(within[off:off+2*hugePage], within)
	require.Equal(t, off, addr(r))
	require.Equal(t, 2*hugePage, len(r))
	// Pages sticking out of the mapping are left out.
	r = hugeRange(within, within)
	require.GreaterOrEqual(t, addr(r), 0)
	require.LessOrEqual(t, addr(r)+len(r), len(within))
	require.Zero(t, (base+uintptr(addr(r)))%hugePage)
	require.Zero(t, len(r)%hugePage)
	// Small mappings and empty copies have none.
	require.Nil(t, hugeRange(within[:10], within[:hugePage-1]))
	require.Nil(t, hugeRange(nil, within))
}
