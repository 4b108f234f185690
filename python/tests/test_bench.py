"""python -m realm bench: the side-by-side benchmark (realm.bench)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Dict

import pytest

from realm import bench


def test_kv_bytes_from_gguf_metadata(smollm2_path: str) -> None:
    # SmolLM2-135M: 30 layers, 3 KV heads of 64, f16 K and V.
    assert bench.gguf_kv_bytes(smollm2_path, 1024) == 30 * 1024 * 3 * (64 + 64) * 2


def test_realm_alone_json(smollm2_path: str) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "realm", "bench", "-m", smollm2_path, "-t", "1",
         "--prompt-tokens", "16,32", "-n", "4", "--repeats", "1", "--no-llama", "--json"],
        capture_output=True, text=True, timeout=300,
    )
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert report["llama_cpp"] is False and report["prompt_tokens"] == [16, 32]
    (model,) = report["models"]
    assert model["file_type"] == "Q4_1"
    assert model["rss_budget_mb"] == pytest.approx(model["file_mb"] + model["kv_cache_mb"] + 64)
    (row,) = model["runs"]
    realm = row["realm"]
    assert "llama" not in row and "ratio" not in row
    assert realm["prompt_tokens"] == {"16": 16, "32": 32}
    assert realm["prompt_tps"]["16"] > 0 and realm["prompt_tps"]["32"] > 0
    assert realm["decode_tps"] > 0 and realm["decode_tokens"] == 4
    assert 0 < realm["load_s"] < realm["ttft_s"]
    # Peak RSS of the worker process, above its size before loading.
    assert realm["peak_rss_kib"] > realm["rss_before_kib"] > 0


def test_table_and_ratios() -> None:
    def side(pp: float, tg: float, ttft: float, rss: int) -> Dict[str, Any]:
        return {"prompt_tps": {"128": pp}, "decode_tps": tg, "ttft_s": ttft, "load_s": ttft / 2,
                "peak_rss_kib": rss, "rss_before_kib": 30 * 1024, "prompt_tokens": {"128": 128}}

    runs = [
        {"threads": 1, "realm": side(200, 90, 0.2, 100 * 1024),
         "llama": side(100, 60, 0.1, 150 * 1024)},
        {"threads": 2, "realm": side(300, 80, 0.3, 100 * 1024),
         "llama": side(150, 120, 0.4, 150 * 1024)},
    ]
    for r in runs:
        r["ratio"] = bench._ratios(r["realm"], r["llama"])
    best = bench._best_summary(runs, True, [128])
    assert best["realm"]["prompt_tps"]["128"] == 300 and best["realm"]["prompt_threads"]["128"] == 2
    assert best["realm"]["decode_tps"] == 90 and best["realm"]["decode_threads"] == 1
    assert best["llama"]["decode_tps"] == 120 and best["llama"]["ttft_s"] == 0.1
    assert best["ratio"]["decode_tps"] == pytest.approx(0.75)
    assert best["ratio"]["prompt_tps"]["128"] == pytest.approx(2.0)
    assert best["ratio"]["ttft_s"] == pytest.approx(0.5)
    assert best["ratio"]["peak_rss"] == pytest.approx(1.5)
    report = {"prompt_tokens": [128], "repeats": 1, "context_length": 1024, "llama_cpp": True,
              "loadavg_before": [0.1], "loadavg_after": [0.2],
              "models": [{"model": "m.gguf", "file_type": "Q4_1", "file_mb": 90.0,
                          "kv_cache_mb": 22.0, "rss_budget_mb": 176.0, "runs": runs,
                          "best": best}]}
    table = bench.format_table(report)
    assert "llama.cpp" in table and "0.75x" in table and "2.00x" in table
    assert "176 MB budget" in table and "Realm 100 MB (70 over its 30 MB" in table


def test_missing_llama_python_is_a_note(smollm2_path: str, tmp_path: Any) -> None:
    assert bench.find_llama_python(str(tmp_path / "no-python")) is None


def test_bad_arguments() -> None:
    p = subprocess.run([sys.executable, "-m", "realm", "bench", "-m", "/nonexistent.gguf"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "no such model file" in p.stderr
    with pytest.raises(bench.BenchError):
        bench._ints("1,x")
    with pytest.raises(bench.BenchError):
        bench._ints("0")


@pytest.mark.skipif(not os.environ.get("REALM_BENCH_LLAMA_PYTHON"),
                    reason="set REALM_BENCH_LLAMA_PYTHON to compare with llama.cpp")
def test_side_by_side(smollm2_path: str) -> None:
    report = bench.run([smollm2_path], [1], [16], 4, 1, bench.find_llama_python())
    row = report["models"][0]["runs"][0]
    assert row["llama"]["decode_tps"] > 0 and row["ratio"]["decode_tps"] > 0
