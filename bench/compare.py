#!/usr/bin/python3
"""Prints scripts/bench.sh's tables (Markdown) from the result files:
  compare.py ATTNSCOPE_JSON TORCH_JSON [ATTNSCOPE_1THREAD_JSON] [--memory MEMORY_JSONL]
ATTNSCOPE_JSON is Google Benchmark's --benchmark_out (JSON) of attn_bench_forward with
OMP_NUM_THREADS=2; TORCH_JSON is torch_peer.py --json; the optional third file is the
engine's forward benchmarks with OMP_NUM_THREADS=1. Times are medians in milliseconds; a
ratio is PyTorch time / AttnScope time (> 1: AttnScope is faster). MEMORY_JSONL holds
attn_bench_memory's lines (scripts/bench.sh --llama): the engine's resident memory, shown
beside the PyTorch workers' peaks from TORCH_JSON.
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


def main(engine_json, torch_json, engine_1thread_json=None, memory_jsonl=None):
    engine = engine_medians(engine_json, "real_time")
    with open(torch_json) as f:
        torch = json.load(f)

    print("Wall clock, 2 threads (PyTorch: its best thread configuration, torch × OpenBLAS threads)")
    print()
    print("| shape | N | AttnScope ms | PyTorch best ms (config) | ratio |")
    print("|---|---:|---:|---:|---:|")
    for shape, n, ms in forward_runs(engine):
        peer = {c: t["wall_ms"] for c, t in torch.get(f"{shape}/{n}", {}).items()}
        if peer:
            config = min(peer, key=peer.get)
            cells = f"{peer[config]:.0f} ({config}) | {peer[config] / ms:.2f}"
        else:
            cells = "– | –"
        print(f"| {shape} | {n} | {ms:.0f} | {cells} |")

    if engine_1thread_json:
        print()
        print("CPU time, 1 thread (AttnScope OMP_NUM_THREADS=1; PyTorch 1 thread, OpenBLAS 1 thread)")
        print()
        print("| shape | N | AttnScope ms | PyTorch ms | ratio |")
        print("|---|---:|---:|---:|---:|")
        for shape, n, ms in forward_runs(engine_medians(engine_1thread_json, "cpu_time")):
            peer = torch.get(f"{shape}/{n}", {}).get("1x1")
            cells = f"{peer['cpu_ms']:.0f} | {peer['cpu_ms'] / ms:.2f}" if peer else "– | –"
            print(f"| {shape} | {n} | {ms:.0f} | {cells} |")

    others = {run: ms for run, ms in engine.items() if not run.startswith("BM_Forward/")}
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
    args = ap.parse_args()
    if len(args.files) not in (2, 3):
        ap.error("give ATTNSCOPE_JSON TORCH_JSON [ATTNSCOPE_1THREAD_JSON]")
    main(*args.files, memory_jsonl=args.memory)
