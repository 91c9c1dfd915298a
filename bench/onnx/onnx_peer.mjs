// ONNX Runtime (CPU, onnxruntime-node) peer of bench/bench_forward.cpp: times the models
// bench/onnx_export.py wrote — torch_peer.py's BERT-base and GPT-2 small with every layer's
// attention probabilities as an output — for 1 and 2 intra-op threads, with all graph
// optimisations on. Per model and length: warm-up runs, then the median of the timed ones (wall
// clock, and the process's CPU time). Each run's logits are checked against PyTorch's (the
// .json beside each model), so the peer computes what the others do.
//
//   node onnx_peer.mjs --dir DIR [--models bert-base gpt2-small] [--lengths 128 512]
//                      [--threads 1 2] [--warmup 2] [--reps 5] [--json FILE]
//
// Prints a table; --json writes {"shape/N": {"ort 1t": {wall_ms, cpu_ms, logits_max_diff}, ...}}.
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import * as ort from "onnxruntime-node";

function parse(argv) {
  const args = { dir: null, models: ["bert-base", "gpt2-small"], lengths: [128, 512], threads: [1, 2], warmup: 2, reps: 5, json: null };
  for (let i = 0; i < argv.length; ) {
    const flag = argv[i++];
    const values = [];
    while (i < argv.length && !argv[i].startsWith("--")) values.push(argv[i++]);
    const key = flag.replace(/^--/, "");
    if (!(key in args)) throw new Error(`onnx_peer: unknown option ${flag}`);
    if (Array.isArray(args[key])) args[key] = key === "models" ? values : values.map(Number);
    else args[key] = typeof args[key] === "number" ? Number(values[0]) : values[0];
  }
  if (!args.dir) throw new Error("onnx_peer: give --dir (bench/onnx_export.py's OUT_DIR)");
  return args;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function time(file, expected, threads, warmup, reps) {
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  const n = expected.n;
  const ids = BigInt64Array.from({ length: n }, (_, i) => BigInt(i % expected.vocab));
  const types = BigInt64Array.from({ length: n }, (_, i) => BigInt(i >= Math.floor(n / 2) ? 1 : 0));
  const all = { input_ids: new ort.Tensor("int64", ids, [n]), token_type_ids: new ort.Tensor("int64", types, [n]) };
  const feeds = Object.fromEntries(session.inputNames.map((name) => [name, all[name]]));
  const wall = [], cpu = [];
  let diff = 0;
  for (let i = 0; i < warmup + reps; ++i) {
    const c0 = process.cpuUsage(), t0 = performance.now();
    const out = await session.run(feeds);
    const dt = performance.now() - t0, dc = process.cpuUsage(c0);
    const dims = out.attentions.dims.join("x");
    if (dims !== expected.attentions_shape.join("x")) throw new Error(`${file}: attentions ${dims}, expected ${expected.attentions_shape.join("x")}`);
    const logits = out.logits.data;
    for (let j = 0; j < logits.length; ++j) diff = Math.max(diff, Math.abs(logits[j] - expected.logits[j]));
    if (i >= warmup) {
      wall.push(dt);
      cpu.push((dc.user + dc.system) / 1000);
    }
  }
  await session.release();
  return { wall_ms: median(wall), cpu_ms: median(cpu), logits_max_diff: diff };
}

const VOCAB = { "bert-base": 30522, "gpt2-small": 50257 };

async function main() {
  const args = parse(process.argv.slice(2));
  const table = {};
  console.log(`onnxruntime-node ${ort.env.versions?.common ?? ""}: median wall ms (CPU ms) per intra-op thread count`);
  for (const name of args.models) {
    for (const n of args.lengths) {
      const base = path.join(args.dir, `${name}-${n}`);
      const expected = JSON.parse(fs.readFileSync(`${base}.json`, "utf8"));
      expected.vocab = VOCAB[name];
      const row = (table[`${name}/${n}`] = {});
      for (const t of args.threads) {
        row[`ort ${t}t`] = await time(`${base}.onnx`, expected, t, args.warmup, args.reps);
        const r = row[`ort ${t}t`];
        if (r.logits_max_diff > 1e-3) throw new Error(`${base}.onnx: logits differ from PyTorch's by ${r.logits_max_diff}`);
        console.log(`${name.padEnd(12)} ${String(n).padStart(5)}  ${t} thread(s): ${r.wall_ms.toFixed(1)} ms (CPU ${r.cpu_ms.toFixed(1)} ms), logits within ${r.logits_max_diff.toExponential(1)}`);
      }
    }
  }
  if (args.json) fs.writeFileSync(args.json, JSON.stringify(table, null, 1));
}

main().catch((e) => {
  console.error(e.message ?? e);
  process.exit(1);
});
