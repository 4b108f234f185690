#!/usr/bin/env python3
"""Generate reference vectors for engine/tensor's (de)quantization tests.

The reference is the PyPI package `gguf` (gguf.quants), run with numpy. Install
it outside the repository, for example:

    python3 -m venv /work/venv-ref
    /work/venv-ref/bin/pip install gguf numpy
    /work/venv-ref/bin/python scripts/quants/make_vectors.py

Output (all little-endian), under engine/tensor/testdata/:

  dequant/<TYPE>.bin   "RDQ1" u32 type, u32 elements, u32 bytes,
                       <bytes> quantized blocks, <elements> float32 = gguf.quants.dequantize
  quant/<TYPE>.bin     "RQT1" u32 type, u32 elements, u32 bytes,
                       <elements> float32 inputs, <bytes> = gguf.quants.quantize

Blocks for dequantization are random bytes whose f16 scale fields are replaced
by sane values (normal, subnormal, zero, negative; never Inf/NaN). Inputs for
quantization mix Gaussian blocks over many magnitudes with edge cases (zeros,
constants, exact rounding ties, tiny and huge values). The generator is
deterministic (fixed seed), so rerunning it must reproduce the committed files
unless gguf's behaviour changes.
"""

from __future__ import annotations

import os
import struct
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGML_QUANT_SIZES, quants

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "engine", "tensor", "testdata")

rng = np.random.default_rng(20241129)

# Offsets of the f16 scale fields inside one block, per type (ggml-common.h).
F16_FIELDS = {
    T.Q4_0: [0],        # d
    T.Q4_1: [0, 2],     # d, m
    T.Q5_0: [0],        # d
    T.Q5_1: [0, 2],     # d, m
    T.Q8_0: [0],        # d
    T.Q4_K: [0, 2],     # d, dmin
    T.Q5_K: [0, 2],     # d, dmin
    T.Q6_K: [208],      # d (after ql[128], qh[64], scales[16])
}

# Number of blocks per quantized type (sized to keep testdata small).
N_BLOCKS = {
    T.Q4_0: 256, T.Q4_1: 256, T.Q5_0: 256, T.Q5_1: 256, T.Q8_0: 256,
    T.Q4_K: 48, T.Q5_K: 48, T.Q6_K: 48,
}


def sane_f16(n: int) -> np.ndarray:
    """n finite f16 values: mostly normal over several magnitudes, some zero, subnormal, negative."""
    mag = 10.0 ** rng.uniform(-5, 1.5, size=n)
    v = (rng.standard_normal(n) * mag).astype(np.float32)
    kind = rng.integers(0, 20, size=n)
    v[kind == 0] = 0.0
    v[kind == 1] = rng.uniform(-6e-5, 6e-5, size=int((kind == 1).sum()))  # subnormal f16 range
    v[kind == 2] = -0.0
    h = v.astype(np.float16)
    assert np.all(np.isfinite(h))
    return h


def write_dequant(t: T, blocks: np.ndarray) -> None:
    raw = np.ascontiguousarray(blocks, dtype=np.uint8).ravel()
    out = quants.dequantize(raw, t).astype(np.float32, copy=False).ravel()
    path = os.path.join(OUT, "dequant", f"{t.name}.bin")
    with open(path, "wb") as f:
        f.write(b"RDQ1" + struct.pack("<III", int(t), out.size, raw.size))
        f.write(raw.tobytes())
        f.write(out.astype("<f4").tobytes())
    print(f"{path}: {out.size} elements, {raw.size} bytes")


def dequant_vectors() -> None:
    # Plain types: random bit patterns.
    f32 = rng.integers(0, 2**32, size=1024, dtype=np.uint64).astype(np.uint32)
    write_dequant(T.F32, f32.view(np.uint8))

    f16 = rng.integers(0, 2**16, size=4096, dtype=np.uint32).astype(np.uint16)
    # Keep NaNs quiet: hardware and software half->float conversions agree on those.
    nan = (f16 & 0x7C00) == 0x7C00
    nan &= (f16 & 0x03FF) != 0
    f16[nan] |= 0x0200
    f16[:8] = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x7BFF, 0x7C00]
    write_dequant(T.F16, f16.view(np.uint8))

    bf16 = rng.integers(0, 2**16, size=4096, dtype=np.uint32).astype(np.uint16)
    write_dequant(T.BF16, bf16.view(np.uint8))

    for t, nb in N_BLOCKS.items():
        _, size = GGML_QUANT_SIZES[t]
        blocks = rng.integers(0, 256, size=(nb, size), dtype=np.uint16).astype(np.uint8)
        for off in F16_FIELDS[t]:
            blocks[:, off:off + 2] = sane_f16(nb).view(np.uint8).reshape(nb, 2)
        write_dequant(t, blocks)


def quant_inputs(nblocks: int, blen: int) -> np.ndarray:
    """nblocks*blen float32 inputs, block by block, with edge cases first."""
    rows = []
    rows.append(np.zeros(blen, np.float32))                          # all zero
    rows.append(np.full(blen, 0.75, np.float32))                     # constant
    rows.append(np.full(blen, -3.0, np.float32))                     # negative constant
    rows.append(np.linspace(-8, 7, blen).astype(np.float32))         # exact grid for Q4_0
    rows.append(np.arange(blen, dtype=np.float32) - blen / 2 + 0.5)  # half-integers: ties
    t = np.zeros(blen, np.float32)
    t[0] = 127.0
    t[1:] = (np.arange(1, blen) % 9 - 4) + 0.5                       # ties after scaling by 1
    rows.append(t)
    rows.append((rng.standard_normal(blen) * 1e-7).astype(np.float32))  # subnormal-f16 scales
    rows.append((rng.standard_normal(blen) * 3e4).astype(np.float32))   # large
    h = (rng.standard_normal(blen) * 1e7).astype(np.float32)
    rows.append(h)                                                      # f16 scale overflows
    s = np.zeros(blen, np.float32)
    s[blen // 2] = -1.0
    rows.append(s)                                                      # single negative spike
    while len(rows) < nblocks:
        mag = np.float32(10.0 ** rng.uniform(-4, 3))
        v = (rng.standard_normal(blen) * mag).astype(np.float32)
        if rng.integers(0, 4) == 0:
            v += np.float32(rng.uniform(-2, 2) * mag)                # offset (exercises min/max types)
        rows.append(v)
    return np.concatenate(rows[:nblocks]).astype(np.float32)


def half_edge_inputs(n: int) -> np.ndarray:
    """float32 inputs around the f16 and bf16 rounding and range boundaries."""
    base = np.array([
        0.0, -0.0, 1.0, -1.0, 65504.0, 65519.99, 65520.0, -65520.0, 1e9, -1e9,
        np.inf, -np.inf, np.nan, 6.1035156e-05, 6.097555e-05, 5.9604645e-08,
        2.9802322e-08, 2.9802326e-08, 1e-10, -1e-10, 3.4028235e38, 1.1754944e-38, 1e-45,
    ], np.float32)
    # Exact ties between adjacent f16 values and between adjacent bf16 values.
    hv = rng.integers(0, 0x7C00, size=n // 4, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)
    ties16 = (hv.view(np.uint32) + (1 << 12)).view(np.float32)      # half an f16 ulp above (normal range)
    bv = rng.integers(0, 0x7F80, size=n // 4, dtype=np.uint32) << 16
    ties_bf = (bv + (1 << 15)).astype(np.uint32).view(np.float32)    # half a bf16 ulp above
    rnd = (rng.standard_normal(n) * 10.0 ** rng.uniform(-9, 6, size=n)).astype(np.float32)
    v = np.concatenate([base, ties16, -ties16, ties_bf, rnd]).astype(np.float32)
    return v[:n]


def write_quant(t: T, x: np.ndarray) -> None:
    x = np.ascontiguousarray(x, dtype=np.float32)
    q = quants.quantize(x, t)
    raw = np.ascontiguousarray(q).view(np.uint8).ravel()
    path = os.path.join(OUT, "quant", f"{t.name}.bin")
    with open(path, "wb") as f:
        f.write(b"RQT1" + struct.pack("<III", int(t), x.size, raw.size))
        f.write(x.astype("<f4").tobytes())
        f.write(raw.tobytes())
    print(f"{path}: {x.size} elements, {raw.size} bytes")


def quant_vectors() -> None:
    for t in (T.F32, T.F16, T.BF16):
        x = half_edge_inputs(2048)
        if t == T.F32:
            x = x[:256]
        write_quant(t, x)
    for t in (T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0):
        with np.errstate(all="ignore"):
            write_quant(t, quant_inputs(160, 32))


def main() -> int:
    os.makedirs(os.path.join(OUT, "dequant"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "quant"), exist_ok=True)
    import gguf  # noqa: F401  (version goes to the log)
    from importlib.metadata import version
    print(f"gguf {version('gguf')}, numpy {np.__version__}")
    dequant_vectors()
    quant_vectors()
    return 0


if __name__ == "__main__":
    sys.exit(main())
