package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeVocab is a vocabulary for tests: id 0 is a control token (no text),
// ids 1-10 are the digits "0"-"9", 11 is "42", 12 is " 7" and the rest are
// words "w<id>", with a few real ones.
type fakeVocab struct{ pieces [][]byte }

func newFakeVocab(n int) *fakeVocab {
	v := &fakeVocab{pieces: make([][]byte, n)}
	for id := range n {
		switch {
		case id == 0:
			v.pieces[id] = nil
		case id <= 10:
			v.pieces[id] = []byte{byte('0' + id - 1)}
		case id == 11:
			v.pieces[id] = []byte("42")
		case id == 12:
			v.pieces[id] = []byte(" 7")
		case id == 13:
			v.pieces[id] = []byte(" Paris")
		case id == 14:
			v.pieces[id] = []byte("paris")
		default:
			v.pieces[id] = fmt.Appendf(nil, "w%d", id)
		}
	}
	return v
}

func (v *fakeVocab) VocabSize() int { return len(v.pieces) }

func (v *fakeVocab) Piece(id int32) []byte {
	if id < 0 || int(id) >= len(v.pieces) {
		return nil
	}
	return v.pieces[id]
}

// newTestHost returns a host closed at the end of the test.
func newTestHost(t testing.TB, cfg Config) *Host {
	t.Helper()
	h := NewHost(cfg)
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

// testdataWasm reads testdata/<name>.wasm.
func testdataWasm(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".wasm"))
	require.NoError(t, err)
	return b
}

// defaultInstance instantiates the default guest over vocab.
func defaultInstance(t testing.TB, h *Host, vocab Vocab) *Instance {
	t.Helper()
	mod, err := h.DefaultModule()
	require.NoError(t, err)
	in, err := mod.Instantiate(context.Background(), vocab, nil)
	require.NoError(t, err)
	t.Cleanup(func() { in.Close() })
	return in
}
