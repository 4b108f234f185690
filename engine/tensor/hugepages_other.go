//go:build !linux

package tensor

// adviseHugePages does nothing: huge pages are only requested on Linux.
func adviseHugePages(b []byte) {}
