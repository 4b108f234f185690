package model

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestReleaseFilePagesKeepsContents(t *testing.T) {
	page := os.Getpagesize()
	want := make([]byte, 5*page+123)
	for i := range want {
		want[i] = byte(i * 7)
	}
	path := filepath.Join(t.TempDir(), "w.bin")
	require.NoError(t, os.WriteFile(path, want, 0o644))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	data, err := unix.Mmap(int(f.Fd()), 0, len(want), unix.PROT_READ, unix.MAP_SHARED)
	require.NoError(t, err)
	defer unix.Munmap(data)

	require.Equal(t, want, data) // fault every page in
	require.Equal(t, 6*page/1024, mappingRSSKiB(t, data))
	releaseFilePages(data[100 : 4*page+7]) // whole pages 1..3 only
	require.Equal(t, 3*page/1024, mappingRSSKiB(t, data))
	releaseFilePages(data[:10]) // less than a page: nothing
	require.Equal(t, 3*page/1024, mappingRSSKiB(t, data))
	require.Equal(t, want, data) // read back from the file
}

// mappingRSSKiB returns the resident KiB of the mapping starting at b[0],
// from /proc/self/smaps.
func mappingRSSKiB(t *testing.T, b []byte) int {
	t.Helper()
	smaps, err := os.ReadFile("/proc/self/smaps")
	require.NoError(t, err)
	start := fmt.Sprintf("%x-", uintptr(unsafe.Pointer(&b[0])))
	in := false
	for _, line := range strings.Split(string(smaps), "\n") {
		in = in || strings.HasPrefix(line, start) // the first Rss after its header is its own
		if in && strings.HasPrefix(line, "Rss:") {
			var kib int
			_, err := fmt.Sscanf(strings.TrimPrefix(line, "Rss:"), "%d", &kib)
			require.NoError(t, err)
			return kib
		}
	}
	t.Fatalf("mapping %s not in /proc/self/smaps", start)
	return 0
}
