package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/realm-ai/realm/engine/errs"
)

// FuzzCompile feeds arbitrary bytes to Compile: it must never panic, and
// every failure must be a sandbox error. The seeds are the committed
// modules and some mutilations of the default guest.
func FuzzCompile(f *testing.F) {
	f.Add(defaultWasm)
	files, _ := filepath.Glob(filepath.Join("testdata", "*.wasm"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err == nil {
			f.Add(b)
		}
	}
	for _, cut := range []int{8, 9, 10, 20, 40, 100} {
		f.Add(defaultWasm[:cut])
	}
	flipped := append([]byte(nil), defaultWasm...)
	flipped[12] ^= 0x40
	f.Add(flipped)
	h := NewHost(Config{})
	f.Cleanup(func() { h.Close(context.Background()) })
	f.Fuzz(func(t *testing.T, wasm []byte) {
		mod, err := h.Compile(wasm)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) || !errors.Is(err, errs.ErrSandbox) {
				t.Fatalf("%T %v: not a sandbox error", err, err)
			}
			return
		}
		if mod == nil {
			t.Fatal("nil module and nil error")
		}
	})
}
