#!/usr/bin/python3
"""Prints scripts/bench.sh's tables (Markdown) from the result files:
  compare.py ATTNSCOPE_JSON TORCH_JSON [ATTNSCOPE_1THREAD_JSON] [--memory MEMORY_JSONL] [--onnx ONNX_JSON]
ATTNSCOPE_JSON is Google Benchmark's --benchmark_out (JSON) of attn_bench_forward with
OMP_NUM_THREADS=2; TORCH_JSON is torch_peer.py --json; the optional third file is the
engine's forward benchmarks with OMP_NUM_THREADS=1. Times are medians in milliseconds; a
ratio is PyTorch time / AttnScope time (> 1: AttnScope is faster). MEMORY_JSONL holds
attn_bench_memory's lines (scripts/bench.sh --llama): the engine's resident memory, shown
beside the PyTorch workers' peaks from TORCH_JSON. ONNX_JSON is bench/onnx/onnx_peer.mjs's
--json: ONNX Runtime's best thread count (wall clock) and its 1-thread CPU time, as a second
ratio. The GEMM tables come from the BM_Gemm runs in the engine's files.
"""
import argparse
import json
import re

UNIT_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def engine_medians(path, field):
    """{run name: median `field` ("real_time" or "cpu_time") in ms}; a single run is its own median."""
    with open(path) as f:
        runs = json.load(f)["benchmarks"]
    out = {}
    for r in runs:
        if r.get("error_occurred"):
            continue
        if r.get("run_type") == "aggregate" and r.get("aggregate_name") != "median":
            continue
        name = re.sub(r"/(min_time|repeats|iterations):[^/]*", "", r["run_name"])
        out[name] = r[field] * UNIT_MS[r["time_unit"]]
    return out


def forward_runs(engine):
    """(shape, N, ms) of the BM_Forward runs: ("bert-base", "128", ms), ..."""
    for run, ms in engine.items():
        m = re.fullmatch(r"BM_Forward/(\w+)/N:(\d+)", run)
        if m:
            yield m.group(1).replace("_", "-"), m.group(2), ms


def gb(n):
    return f"{n / 1e9:.2f}"


def memory_table(memory_jsonl, torch):
    """Resident memory of the engine's runs (one process each) and of the PyTorch workers."""
    with open(memory_jsonl) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    print()
    print("Resident memory, GB (10⁹ bytes); weights file = the model's safetensors")
    print()
    print("| run | N | layers recorded | weights file | after load: total (mapped file) | peak (VmHWM) | recording | peak − recording |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        load, peak, rec = r["after_load"], r["after_run"]["VmHWM"], r["recording_bytes"]
        print(f"| AttnScope {r['storage']} | {r['n']} | {r['layers_recorded']} | {gb(r['file_bytes'])} | "
              f"{gb(load['VmRSS'])} ({gb(load['RssFile'])}) | {gb(peak)} | {gb(rec)} | {gb(peak - rec)} |")
    for key, by_config in torch.items():
        n = key.split("/")[1]
        for config, t in by_config.items():
            if "max_rss_bytes" in t:
                peak, rec = t["max_rss_bytes"], t["attention_bytes"]
                print(f"| PyTorch f32 ({config}) | {n} | all | – | – | {gb(peak)} | {gb(rec)} | {gb(peak - rec)} |")


def gemm_rates(path):
    """{(isa, shape): GFLOP/s} of the BM_Gemm runs in one result file."""
    with open(path) as f:
        runs = json.load(f)["benchmarks"]
    out = {}
    for r in runs:
        m = re.fullmatch(r"BM_Gemm/(\w+)/(\w+)(/.*)?", r["run_name"])
        if m and not r.get("error_occurred"):
            out[(m.group(1), m.group(2))] = r["GFLOPS"]
    return out


def forward_flops(shape, n):
    """Multiply-add FLOPs of the matrix products in one BERT-base / GPT-2 small forward pass
    (12 layers, hidden 768, FFN 3072): projections and FFN 24·N·d², Q·Kᵀ and P·V 4·N²·d."""
    d = 768
    return 12 * (24 * n * d * d + 4 * n * n * d) if shape in ("bert-base", "gpt2-small") else None


def gemm_table(engine_json, engine_1thread_json):
    """GEMM rates per instruction set, and each forward pass's matrix-product FLOPs per second
    as a share of the GEMM peak measured in the same run."""
    files = [("2 threads", engine_json, "real_time")]
    if engine_1thread_json:
        files.append(("1 thread", engine_1thread_json, "cpu_time"))
    for label, path, field in files:
        rates = gemm_rates(path)
        if not rates:
            continue
        print()
        print(f"GEMM, {label}: GFLOP/s of kernels::gemm (C = A·Bᵀ); peak = 2048³")
        print()
        shapes = sorted({s for _, s in rates}, key=lambda s: (s != "peak", s))
        print("| instruction set | " + " | ".join(shapes) + " |")
        print("|---|" + "---:|" * len(shapes))
        for isa in sorted({i for i, _ in rates}):
            print(f"| {isa} | " + " | ".join(f"{rates[(isa, s)]:.0f}" if (isa, s) in rates else "–" for s in shapes) + " |")
        peak = max((r for (i, s), r in rates.items() if s == "peak"), default=None)
        if not peak:
            continue
        print()
        print(f"| forward, {label} | N | matrix-product GFLOP | ms | GFLOP/s | share of the GEMM peak ({peak:.0f}) |")
        print("|---|---:|---:|---:|---:|---:|")
        for shape, n, ms in forward_runs(engine_medians(path, field)):
            flops = forward_flops(shape, int(n))
            if flops:
                rate = flops / (ms * 1e-3) / 1e9
                print(f"| {shape} | {n} | {flops / 1e9:.1f} | {ms:.0f} | {rate:.0f} | {100 * rate / peak:.0f} % |")


def main(engine_json, torch_json, engine_1thread_json=None, memory_jsonl=None, onnx_json=None):
    engine = engine_medians(engine_json, "real_time")
    with open(torch_json) as f:
        torch = json.load(f)
    onnx = {}
    if onnx_json:
        with open(onnx_json) as f:
            onnx = json.load(f)

    print("Wall clock, 2 threads (PyTorch: its best thread configuration, torch × OpenBLAS threads)")
    print()
    print("| shape | N | AttnScope ms | PyTorch best ms (config) | ratio |" + (" ONNX Runtime best ms (threads) | ratio |" if onnx else ""))
    print("|---|---:|---:|---:|---:|" + ("---:|---:|" if onnx else ""))
    for shape, n, ms in forward_runs(engine):
        cells = ""
        for peers, field in [(torch, "wall_ms")] + ([(onnx, "wall_ms")] if onnx else []):
            peer = {c: t[field] for c, t in peers.get(f"{shape}/{n}", {}).items()}
            if peer:
                config = min(peer, key=peer.get)
                cells += f" {peer[config]:.0f} ({config}) | {peer[config] / ms:.2f} |"
            else:
                cells += " – | – |"
        print(f"| {shape} | {n} | {ms:.0f} |{cells}")

    if engine_1thread_json:
        print()
        print("CPU time, 1 thread (AttnScope OMP_NUM_THREADS=1; PyTorch 1 thread, OpenBLAS 1 thread)")
        print()
        print("| shape | N | AttnScope ms | PyTorch ms (config) | ratio |" + (" ONNX Runtime ms (1 thread) | ratio |" if onnx else ""))
        print("|---|---:|---:|---:|---:|" + ("---:|---:|" if onnx else ""))
        for shape, n, ms in forward_runs(engine_medians(engine_1thread_json, "cpu_time")):
            # The best one-thread configuration: 1x1, or 1x1 with another OpenBLAS core type.
            single = {c: t["cpu_ms"] for c, t in torch.get(f"{shape}/{n}", {}).items() if c.split(":")[0] == "1x1"}
            if single:
                config = min(single, key=single.get)
                cells = f"{single[config]:.0f} ({config}) | {single[config] / ms:.2f}"
            else:
                cells = "– | –"
            if onnx:
                ort = onnx.get(f"{shape}/{n}", {}).get("ort 1t")
                cells += f" | {ort['cpu_ms']:.0f} | {ort['cpu_ms'] / ms:.2f}" if ort else " | – | –"
            print(f"| {shape} | {n} | {ms:.0f} | {cells} |")

    gemm_table(engine_json, engine_1thread_json)

    others = {run: ms for run, ms in engine.items() if not run.startswith(("BM_Forward/", "BM_Gemm/"))}
    if others:
        print()
        print("| AttnScope only, 2 threads | ms |")
        print("|---|---:|")
        for run, ms in others.items():
            print(f"| {run.removeprefix('BM_')} | {ms:.1f} |")

    if memory_jsonl:
        memory_table(memory_jsonl, torch)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--memory")
    ap.add_argument("--onnx", help="bench/onnx/onnx_peer.mjs --json: ONNX Runtime as a second peer")
    args = ap.parse_args()
    if len(args.files) not in (2, 3):
        ap.error("give ATTNSCOPE_JSON TORCH_JSON [ATTNSCOPE_1THREAD_JSON]")
    main(*args.files, memory_jsonl=args.memory, onnx_json=args.onnx)
