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
    assert "stopped after" not in table
    # A llama.cpp decode run cut short by LLAMA_DECODE_CAP_S is named.
    report["decode_tokens"] = 64
    for r in runs:
        r["realm"]["decode_tokens"] = r["llama"]["decode_tokens"] = 64
    runs[1]["llama"]["decode_tokens"] = 5
    table = bench.format_table(report)
    assert "tokens done: m 2 thr (5)" in table and "m 1 thr" not in table


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


def test_scale_part_json(smollm2_path: str) -> None:
    # The multi-tenant part alone, tiny: 1 and 2 streams of 4 tokens, 10 idle realms.
    p = subprocess.run(
        [sys.executable, "-m", "realm", "bench", "-m", smollm2_path, "--scale", "only",
         "--streams", "1,2", "--stream-tokens", "4", "--idle-realms", "10", "--repeats", "1",
         "--json"],
        capture_output=True, text=True, timeout=300,
    )
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert "models" not in report and report["notes"] == []
    scale = report["scale"]
    assert scale["model"] == os.path.basename(smollm2_path) and scale["file_type"] == "Q4_1"
    assert [r["streams"] for r in scale["streams"]] == [1, 2]
    for r in scale["streams"]:
        n = r["streams"]
        assert len(r["stream_tps"]) == n and len(r["stream_tokens"]) == n
        assert r["tokens"] == sum(r["stream_tokens"]) and 0 < r["tokens"] <= 4 * n
        assert all(t > 0 for t in r["stream_tps"])
        assert r["wall_s"] > 0 and r["aggregate_tps"] == pytest.approx(r["tokens"] / r["wall_s"])
    idle = scale["idle_realms"]
    assert idle["count"] == idle["registered"] == 10 and idle["rss_before_kib"] > 0
    ttft = scale["ttft"]
    assert ttft["load_streams"] == 2 and 0 <= ttft["fewest_load_streams"] <= 2
    assert len(ttft["alone_samples_s"]) == len(ttft["loaded_samples_s"]) == 3
    assert 0 < ttft["alone_s"] < 60 and 0 < ttft["loaded_s"] < 60
    two = scale["two_threads"]
    assert two["sequential_s"] > 0 and two["parallel_s"] > 0
    assert 0 < two["sequential_tokens"] <= 8 and 0 < two["parallel_tokens"] <= 8
    s = scale["summary"]
    assert (s["streams_low"], s["streams_high"]) == (1, 2)
    assert s["aggregate_ratio"] == pytest.approx(
        scale["streams"][1]["aggregate_tps"] / scale["streams"][0]["aggregate_tps"])
    assert 0 < s["fairness"] <= 1 and s["idle_rss_target_mb"] == pytest.approx(10.24)
    assert s["ttft_bound_s"] == pytest.approx(2 * ttft["alone_s"] + s["step_s"])
    assert s["two_threads_speedup"] == pytest.approx(two["sequential_s"] / two["parallel_s"])
    table = bench.format_scale(scale)
    assert "aggregate 2 streams / 1 stream" in table and "10 idle realms" in table


def test_scale_summary_targets() -> None:
    def row(n: int, agg: float, rates: Any) -> Dict[str, Any]:
        return {"streams": n, "tokens": 48 * n, "wall_s": 48 * n / agg, "aggregate_tps": agg,
                "stream_tps": rates, "stream_tokens": [48] * n}

    scale = {
        "model": "m.gguf", "tokens_per_stream": 48, "repeats": 1,
        "streams": [row(1, 100.0, [100.0]), row(8, 400.0, [40.0, 60.0] + [50.0] * 6)],
        "ttft": {"alone_s": 0.02, "loaded_s": 0.06, "alone_samples_s": [0.02] * 3,
                 "loaded_samples_s": [0.06] * 3, "load_streams": 8, "fewest_load_streams": 8},
        "idle_realms": {"count": 1000, "registered": 1000, "rss_before_kib": 1,
                        "rss_growth_kib": 50 * 1024},
        "two_threads": {"sequential_s": 1.0, "parallel_s": 0.5, "sequential_tokens": 96,
                        "parallel_tokens": 96},
    }
    s = bench.scale_summary(scale)
    assert s["aggregate_ratio"] == pytest.approx(4.0) and s["aggregate_ratio_met"]
    assert s["fairness"] == pytest.approx(40 / 60) and not s["fairness_met"]
    assert s["step_s"] == pytest.approx(0.02) and s["ttft_bound_s"] == pytest.approx(0.06)
    assert s["ttft_met"] and s["idle_rss_met"] and s["idle_rss_mb"] == pytest.approx(50)
    assert s["two_threads_speedup"] == pytest.approx(2.0)
    scale["summary"] = s
    table = bench.format_scale(scale)
    assert "4.00x" in table and "0.67" in table and "50 MB" in table and "2.00x" in table
