//go:build !linux

package model

// releaseFilePages keeps the pages elsewhere than Linux (where the packed
// copy and the mapping both stay resident).
func releaseFilePages(b []byte) {}
