package registry

import (
	"os"
	"testing"

	"github.com/realm-ai/realm/engine"
	"github.com/realm-ai/realm/engine/errs"
	"github.com/stretchr/testify/require"
)

// hostileWasm is the sandbox package's misbehaving test guest: the low 32
// bits of the seed pick its behaviour; 0 returns the best candidate (the
// greedy token), 1 traps (unreachable).
func hostileWasm(t testing.TB) []byte {
	t.Helper()
	wasm, err := os.ReadFile("../engine/sandbox/testdata/hostile.wasm")
	require.NoError(t, err)
	return wasm
}

func TestDefaultGuestGivesTheNativeTokens(t *testing.T) {
	img := tinyImage(t, 1)
	m, err := engine.LoadBytes("tiny", img, engine.LoadOptions{})
	require.NoError(t, err)
	defer m.Close()
	s, err := m.NewSession()
	require.NoError(t, err)
	defer s.Close()
	ids, err := m.Tokenize("the hall in", true, true)
	require.NoError(t, err)
	p := engine.DefaultSamplingParams()
	p.Temperature, p.Seed, p.MaxTokens, p.TopK, p.RepeatPenalty = 1.2, 42, 24, 0, 1.1
	want, err := s.Generate(bg, ids, p, nil) // native sampler, no sandbox
	require.NoError(t, err)

	r := loadedRealm(t, 1)
	require.NotNil(t, r.inst, "a realm runs its guest")
	got := one(t, r, `{"prompt": "the hall in", "temperature": 1.2, "seed": 42, "max_tokens": 24, "top_k": 0, "repeat_penalty": 1.1}`)
	require.Equal(t, want.Tokens, got.Tokens)
}

func TestCustomGuests(t *testing.T) {
	_, err := NewWithGuest(Options{}, Guest{Wasm: []byte("not wasm")})
	require.ErrorIs(t, err, errs.ErrSandbox)

	greedy := one(t, loadedRealm(t, 1), `{"prompt": "the hall in", "temperature": 0, "max_tokens": 8}`)
	h, err := NewWithGuest(Options{}, Guest{Wasm: hostileWasm(t), Config: []byte("cfg")})
	require.NoError(t, err)
	defer h.Close()
	require.NoError(t, h.LoadBytes("tiny", tinyImage(t, 1), Options{}))
	good := `{"prompt": "the hall in", "seed": 0, "max_tokens": 8}`
	bad := `{"prompt": "the hall in", "seed": 1, "max_tokens": 8}`
	require.Equal(t, greedy.Tokens, one(t, h, good).Tokens, "the guest chooses the tokens")

	// A trapping guest fails the request with ErrSandbox; the realm recovers.
	_, err = h.Generate(bg, request(t, bad))
	require.ErrorIs(t, err, errs.ErrSandbox)
	require.Equal(t, greedy.Tokens, one(t, h, good).Tokens)
	s, err := h.Stream(bg, request(t, bad))
	require.NoError(t, err)
	defer s.Close()
	for {
		_, err = s.Next(-1)
		if err != nil {
			break
		}
	}
	require.ErrorIs(t, err, errs.ErrSandbox)
	_, err = s.Next(0)
	require.ErrorIs(t, err, ErrDone)

	// Through the registry: the guest is the tenant's; the registry's own
	// sessions keep the default guest.
	g := newRegistry(t)
	require.NoError(t, g.LoadBytes("tiny", tinyImage(t, 1), LoadOptions{}))
	tenant, err := g.Realm("tiny", Guest{Wasm: hostileWasm(t)})
	require.NoError(t, err)
	defer tenant.Close()
	_, err = tenant.Generate(bg, request(t, bad))
	require.ErrorIs(t, err, errs.ErrSandbox)
	res, err := g.Generate(bg, "tiny", request(t, `{"prompt": "the hall in", "seed": 1, "temperature": 0, "max_tokens": 8}`))
	require.NoError(t, err)
	require.Equal(t, greedy.Tokens, res[0].Tokens)
	_, err = g.Realm("tiny", Guest{Wasm: []byte{0, 'a', 's', 'm'}})
	require.ErrorIs(t, err, errs.ErrSandbox)
	ms, err := g.Models()
	require.NoError(t, err)
	require.Equal(t, 1, ms[0].Realms, "a failed Realm call does not count")
}
