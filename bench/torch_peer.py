#!/usr/bin/python3
"""PyTorch peer of bench/bench_forward.cpp: times a float32 forward pass of BERT-base,
GPT-2-small and Llama-3.2-1B shaped models with random weights, keeping every layer's
attention probabilities (as Hugging Face's output_attentions=True does), under several
thread configurations.

Run with Debian's PyTorch: /usr/bin/python3 bench/torch_peer.py [--json FILE]. It needs
libopenblas0-pthread (without it torch falls back to the reference BLAS, ~30x slower).

The models are tools/reference/ (Hugging Face module and parameter names) with the work
PyTorch users actually run put back in: torch.softmax, F.layer_norm, F.gelu and addmm instead
of the reference's formula-by-formula ops, and LM logits for one position only (GPT-2: the
last token; BERT: a mask in the middle), as the engine's `predict` computes them. The Llama
shape (llama-1b, tools/reference/llama.py) gets F.linear, F.silu and grouped-query attention
by broadcasting (no repeat_kv copies), and is held in float32 (5 GB) although the engine's
file is BF16: Debian's torch 1.13 has no fast CPU bf16 matmul, so float32 is its best case.

Each thread configuration runs in its own process (OpenBLAS reads its thread count at
start): torch.set_num_threads(T) for PyTorch's own kernels, OPENBLAS_NUM_THREADS=B for the
GEMMs. A configuration "TxB:CORE" also sets OPENBLAS_CORETYPE=CORE: Debian 12's OpenBLAS
(0.3.21) picks its kernels from the CPU's model and takes CPUs newer than it knows (AMD Zen 5,
say) for Haswell, i.e. AVX2; "1x1:SkylakeX" gives it its AVX-512 kernels there, and
scripts/bench.sh adds such configurations on AVX-512 CPUs so that PyTorch's best is its best. Per shape: warm-up runs, then the median of several timed runs (wall clock, and the
process's CPU time, which for the 1x1 configuration is the work done whatever else the
machine runs); the best configuration is reported, with each worker's peak resident memory
(ru_maxrss; run one shape and length per call to read it per shape).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SHAPES = {
    # name: (family, vocab, positions, layers, heads)
    "bert-base": ("bert", 30522, 512, 12, 12),
    "gpt2-small": ("gpt2", 50257, 1024, 12, 12),
    "llama-1b": ("llama", 128256, 131072, 16, 32),
}
HIDDEN, INTERMEDIATE = 768, 3072  # BERT-base and GPT-2 small
DEFAULT_CONFIGS = ["1x2", "1x1", "2x1", "2x2"]  # torch threads x OpenBLAS threads


def patch_reference():
    """Swaps the reference's formula-level ops for PyTorch's fused ones (same results)."""
    import torch
    import torch.nn.functional as F
    from tools.reference import bert, common, gpt2, llama, rope

    common.ACTIVATIONS["gelu"] = F.gelu
    common.ACTIVATIONS["gelu_new"] = lambda x: F.gelu(x, approximate="tanh")
    common.LayerNorm.forward = lambda self, x: F.layer_norm(x, x.shape[-1:], self.weight, self.bias, self.eps)
    gpt2.Conv1D.forward = lambda self, x: torch.addmm(self.bias, x, self.weight)

    def attention(q, k, v, causal, trace):
        # (H, N, d) each; probabilities (H, N, N) kept, as output_attentions=True keeps them.
        scores = torch.matmul(q * q.shape[-1] ** -0.5, k.transpose(-1, -2))
        if causal:
            scores.masked_fill_(common.causal_mask(scores.shape[-1]), float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        trace.attentions.append(probs)
        return common.merge_heads(torch.matmul(probs, v))

    bert.attention = attention
    gpt2.attention = attention

    llama.Linear.forward = lambda self, x: F.linear(x, self.weight, self.bias)
    llama.silu = F.silu

    def llama_attention(self, x, cos, sin, trace):
        # llama.Attention.forward keeping only the probabilities (H, N, N); query head h reads
        # key/value head h // rep through a broadcast view instead of repeat_kv's copies.
        n, h, kv, d = x.shape[0], self.num_heads, self.num_kv_heads, self.head_dim
        q = self.q_proj(x).reshape(n, h, d).transpose(0, 1)  # (H, N, d)
        k = self.k_proj(x).reshape(n, kv, d).transpose(0, 1)  # (KV, N, d)
        v = self.v_proj(x).reshape(n, kv, d).transpose(0, 1)
        q, k = rope.apply(q, cos, sin), rope.apply(k, cos, sin)
        q = q.reshape(kv, h // kv, n, d)
        scores = torch.matmul(q * self.scaling, k.unsqueeze(1).transpose(-1, -2))  # (KV, rep, N, N)
        scores.masked_fill_(common.causal_mask(n), float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        trace.attentions.append(probs.reshape(h, n, n))
        context = torch.matmul(probs, v.unsqueeze(1)).reshape(h, n, d)
        return self.o_proj(context.transpose(0, 1).reshape(n, h * d))

    llama.Attention.forward = llama_attention


def llama_1b_config():
    """Llama 3.2 1B's config.json, as bench/random_model.cpp writes it."""
    from tools.reference import llama

    return llama.config("llama", 128256, 2048, 16, 32, 8192, num_kv_heads=8, head_dim=64,
                        max_positions=131072, rope_theta=500000.0, tie_word_embeddings=True,
                        rms_norm_eps=1e-5, torch_dtype="bfloat16",
                        rope_scaling={"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                      "original_max_position_embeddings": 8192, "rope_type": "llama3"})


def build(name):
    import torch
    from tools.reference import bert, gpt2, llama

    family, vocab, positions, layers, heads = SHAPES[name]
    torch.manual_seed(0)
    if family == "llama":
        model = llama.DecoderForCausalLM(llama_1b_config())
    elif family == "bert":
        cfg = bert.config(vocab, HIDDEN, layers, heads, INTERMEDIATE, "BertForMaskedLM", positions)
        model = bert.BertForMaskedLM(cfg)
    else:
        model = gpt2.GPT2LMHeadModel(gpt2.config(vocab, HIDDEN, layers, heads, positions))
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if p.dim() >= 2:
                p.uniform_(-0.05, 0.05)  # as the C++ benchmark's random models
    model.eval()
    return family, vocab, model


def make_forward(family, model):
    """forward(ids, types) -> (attentions, logits), the work the engine's benchmark times."""
    import torch

    if family == "bert":
        wte = model.bert.embeddings.word_embeddings.weight

        def forward(ids, types):
            trace = model.bert(ids, types)
            row = ids.shape[0] // 2
            logits = model.cls.predictions(trace.hidden_states[-1][row:row + 1], wte)
            return trace.attentions, logits
    elif family == "gpt2":
        wte = model.transformer.wte.weight

        def forward(ids, types):
            trace = model.transformer(ids)
            logits = trace.hidden_states[-1][-1:] @ wte.T
            return trace.attentions, logits
    else:
        head = model.head_weight()

        def forward(ids, types):
            trace = model.model(ids)
            logits = trace.hidden_states[-1][-1:] @ head.T
            return trace.attentions, logits

    return forward


def worker(args):
    """Times every shape under one thread configuration; prints JSON on stdout."""
    import torch

    torch.set_num_threads(args.torch_threads)
    sys.path.insert(0, ROOT)
    patch_reference()
    results = {}
    for name in args.models:
        family, vocab, model = build(name)
        forward = make_forward(family, model)
        layers, heads = SHAPES[name][3:]
        for n in args.lengths:
            gen = torch.Generator().manual_seed(42)
            ids = torch.randint(0, vocab, (n,), generator=gen)
            types = (torch.arange(n) >= n // 2).long()
            wall, cpu = [], []
            with torch.no_grad():
                for i in range(args.warmup + args.reps):
                    t0, c0 = time.perf_counter(), time.process_time()
                    attentions, logits = forward(ids, types)
                    dt, dc = time.perf_counter() - t0, time.process_time() - c0
                    assert len(attentions) == layers and attentions[0].shape == (heads, n, n)
                    attention_bytes = sum(a.numel() * a.element_size() for a in attentions)
                    del attentions, logits
                    if i >= args.warmup:
                        wall.append(dt * 1000)
                        cpu.append(dc * 1000)
            results[f"{name}/{n}"] = {"wall_ms": statistics.median(wall), "cpu_ms": statistics.median(cpu),
                                      "attention_bytes": attention_bytes,
                                      "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
        del model, forward
    json.dump(results, sys.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    ap.add_argument("--lengths", nargs="+", type=int, default=[128, 512])
    ap.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS,
                    help="TxB[:CORE]: torch.set_num_threads(T), OPENBLAS_NUM_THREADS=B, OPENBLAS_CORETYPE=CORE "
                         "(default: %(default)s)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json", help="write {shape/N: {config: {wall_ms, cpu_ms}}, ...} here")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--torch-threads", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)

    table = {}  # "shape/N" -> {config: {"wall_ms": median, "cpu_ms": median of process CPU time}}
    for config in args.configs:
        threads, _, core = config.partition(":")
        t, b = (int(x) for x in threads.split("x"))
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(b), OMP_NUM_THREADS=str(t))
        if core:
            env["OPENBLAS_CORETYPE"] = core
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--torch-threads", str(t),
               "--warmup", str(args.warmup), "--reps", str(args.reps),
               "--models", *args.models, "--lengths", *map(str, args.lengths)]
        print(f"torch_peer: torch threads {t}, OpenBLAS threads {b}{', OpenBLAS core ' + core if core else ''} ...",
              file=sys.stderr, flush=True)
        out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
        for key, times in json.loads(out).items():
            table.setdefault(key, {})[config] = times

    print("median wall ms per configuration (torch threads x OpenBLAS threads)")
    print(f"{'shape':<12} {'N':>5}  " + "  ".join(f"{c:>8}" for c in args.configs) + "   best")
    for key, by_config in table.items():
        name, n = key.split("/")
        wall = {c: t["wall_ms"] for c, t in by_config.items()}
        best = min(wall, key=wall.get)
        cells = "  ".join(f"{wall.get(c, float('nan')):8.1f}" for c in args.configs)
        print(f"{name:<12} {n:>5}  {cells}   {wall[best]:.1f} ({best})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(table, f, indent=1)


if __name__ == "__main__":
    main()
