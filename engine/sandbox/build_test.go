package sandbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/realm-ai/realm/engine/sample"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
)

// repoRoot is the repository root, relative to this package.
const repoRoot = "../.."

// needTool returns the path of a build tool, skipping the test when it is
// missing outside CI (in CI, where CI is set, a missing tool fails).
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found: CI must install it (apt-get install clang lld wabt)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return path
}

// buildGuest compiles C sources (paths relative to the repository root)
// with guest/build.sh and returns the module bytes.
func buildGuest(t *testing.T, sources ...string) []byte {
	t.Helper()
	needTool(t, "clang")
	needTool(t, "wasm-ld")
	out := filepath.Join(t.TempDir(), "guest.wasm")
	args := []string{filepath.Join(repoRoot, "guest", "build.sh"), out}
	for _, s := range sources {
		args = append(args, filepath.Join(repoRoot, s))
	}
	cmd := exec.Command("sh", args...)
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "guest/build.sh: %s", msg)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	return b
}

// TestDefaultGuestIsFresh fails when default.wasm, the embedded default
// guest, is not what its source builds to: run `make guest` and commit.
func TestDefaultGuestIsFresh(t *testing.T) {
	fresh := buildGuest(t, "guest/default/policy.c")
	if !bytes.Equal(fresh, defaultWasm) {
		t.Fatalf("engine/sandbox/default.wasm (%d bytes) differs from a fresh build of guest/default/policy.c (%d bytes): run `make guest`",
			len(defaultWasm), len(fresh))
	}
}

// TestTestdataWasmIsFresh checks each committed hostile module against its
// .wat source.
func TestTestdataWasmIsFresh(t *testing.T) {
	wat2wasm := needTool(t, "wat2wasm")
	sources, err := filepath.Glob(filepath.Join("testdata", "*.wat"))
	require.NoError(t, err)
	require.NotEmpty(t, sources)
	for _, src := range sources {
		out := filepath.Join(t.TempDir(), "m.wasm")
		msg, err := exec.Command(wat2wasm, src, "-o", out).CombinedOutput()
		require.NoError(t, err, "%s: %s", src, msg)
		fresh, err := os.ReadFile(out)
		require.NoError(t, err)
		committed, err := os.ReadFile(strings.TrimSuffix(src, ".wat") + ".wasm")
		require.NoError(t, err)
		require.True(t, bytes.Equal(fresh, committed), "%s does not match its .wasm: regenerate with wat2wasm", src)
	}
}

// TestGuestMathMatchesGo compares the C pieces of the sampler, compiled to
// WebAssembly, with engine/sample bit for bit: realm_exp32 against
// sample.Exp32 over a sweep of float32 inputs, and the Mersenne Twister
// and its doubles against the known std::mt19937 sequence.
func TestGuestMathMatchesGo(t *testing.T) {
	wasm := buildGuest(t, "guest/test/probe.c")
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, wasm)
	require.NoError(t, err)
	call := func(name string, args ...uint64) uint64 {
		res, err := mod.ExportedFunction(name).Call(ctx, args...)
		require.NoError(t, err, name)
		if len(res) == 0 {
			return 0
		}
		return res[0]
	}
	batch := uint32(call("probe_batch"))
	const batchLen = 65536

	// Every stride-th float32 between -105 and 90, plus the specials.
	stride := uint32(101)
	if testing.Short() {
		stride = 1009
	}
	var xs []float32
	for b := uint32(0x80000000); b <= math.Float32bits(-105); b += stride {
		xs = append(xs, math.Float32frombits(b))
	}
	for b := uint32(0); b <= math.Float32bits(90); b += stride {
		xs = append(xs, math.Float32frombits(b))
	}
	xs = append(xs, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), -104, 89, 88.72284)
	mem := mod.Memory()
	checked := 0
	for start := 0; start < len(xs); start += batchLen {
		chunk := xs[start:min(start+batchLen, len(xs))]
		buf, ok := mem.Read(batch, uint32(4*len(chunk)))
		require.True(t, ok)
		for i, x := range chunk {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
		}
		call("probe_exp32", uint64(len(chunk)))
		for i, x := range chunk {
			got := math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
			want := sample.Exp32(x)
			if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
				t.Fatalf("realm_exp32(%v) = %v (%#x), sample.Exp32 = %v (%#x)",
					x, got, math.Float32bits(got), want, math.Float32bits(want))
			}
			checked++
		}
	}
	t.Logf("realm_exp32 == sample.Exp32 on %d inputs", checked)

	// std::mt19937 with the default seed: the 10000th output is 4123659995
	// (C++ standard, [rand.predef]).
	call("probe_mt_seed", 5489)
	var last uint32
	for range 10000 {
		last = uint32(call("probe_mt_next"))
	}
	require.Equal(t, uint32(4123659995), last)
	// The guest's uniform doubles (libstdc++'s generate_canonical<double,
	// 53>) are the native chain's: with 256 equal weights the chain picks
	// index floor(256*u) of its own draw u.
	for _, seed := range []uint64{0, 7, 1 << 40, math.MaxUint64} {
		call("probe_mt_seed", uint64(uint32(seed)^uint32(seed>>32)))
		native := sample.NewChain(sample.Params{Temperature: 1, TopP: 1, RepeatPenalty: 1, Seed: seed})
		cands := make([]sample.Candidate, 256)
		for i := range cands {
			cands[i] = sample.Candidate{ID: int32(i), Logit: 0}
		}
		for range 1000 {
			u := math.Float64frombits(call("probe_mt_double"))
			id, err := native.Choose(cands)
			require.NoError(t, err)
			// 256 equal weights of 1: the draw is floor(u*256).
			require.Equal(t, int32(u*256), id, "seed %d", seed)
		}
	}
}
