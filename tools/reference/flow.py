"""Attention flow (Abnar & Zuidema 2020), written independently of the C++ engine.

Their repository (samiraabnar/attention_flow) builds the layered graph and calls
networkx.maximum_flow_value with Edmonds-Karp; networkx is not installed here, so this is a
plain-Python Edmonds-Karp (shortest augmenting paths by BFS) on an explicit edge list, in
float64. Only the standard library and numpy.

The graph: a node per (layer boundary, token); the edge from token j at boundary l to token i
at boundary l + 1 has capacity A_l[i, j], where A_l is layer l's heads averaged, plus the
identity, rows renormalised (as rollout does). flow[i, j] is the max flow from (0, j) to (L, i),
not normalised (their repository also divides each output's row by its sum).

    /usr/bin/python3 tools/reference/flow.py            # writes tests/fixtures/flow/random_small.json
    /usr/bin/python3 tools/reference/flow.py --out F    # somewhere else
"""
import argparse
import collections
import json
import pathlib

import numpy as np


def residual_layers(attention):
    """attention: (L, H, N, N) row-stochastic -> L capacity matrices (N, N): mean of heads + I, rows renormalised."""
    layers = []
    for layer in attention:
        a = layer.astype(np.float64).mean(axis=0) + np.eye(layer.shape[-1])
        layers.append(a / a.sum(axis=1, keepdims=True))
    return layers


def max_flow(capacity, source, sink):
    """Edmonds-Karp on capacity: dict node -> dict node -> float. Returns the flow value."""
    residual = collections.defaultdict(dict)
    for u, edges in capacity.items():
        for v, c in edges.items():
            residual[u][v] = residual[u].get(v, 0.0) + c
            residual[v].setdefault(u, 0.0)
    total = 0.0
    while True:
        parent = {source: None}
        queue = collections.deque([source])
        while queue and sink not in parent:
            u = queue.popleft()
            for v, c in residual[u].items():
                if c > 1e-15 and v not in parent:
                    parent[v] = u
                    queue.append(v)
        if sink not in parent:
            return total
        path, v = [], sink
        while parent[v] is not None:
            path.append((parent[v], v))
            v = parent[v]
        push = min(residual[u][v] for u, v in path)
        for u, v in path:
            residual[u][v] -= push
            residual[v][u] += push
        total += push


def attention_flow(layers):
    """layers: L capacity matrices (N, N) -> (N, N) flow, rows = output tokens."""
    n = layers[0].shape[0]
    top = len(layers)
    capacity = collections.defaultdict(dict)
    for l, a in enumerate(layers):
        for i in range(n):
            for j in range(n):
                if a[i, j] > 0:
                    capacity[(l, j)][(l + 1, i)] = float(a[i, j])
    flow = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            flow[i, j] = max_flow(capacity, (0, j), (top, i))
    return flow


def random_attention(rng, layers, heads, n, causal):
    """Row-stochastic (L, H, N, N) float32 attention from a gamma distribution (peaky rows)."""
    a = rng.gamma(0.3, size=(layers, heads, n, n)) + 1e-6
    if causal:
        a *= np.tril(np.ones((n, n)))
    return (a / a.sum(axis=-1, keepdims=True)).astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = pathlib.Path(__file__).resolve().parents[2]
    parser.add_argument("--out", type=pathlib.Path, default=root / "tests/fixtures/flow/random_small.json")
    args = parser.parse_args()
    rng = np.random.default_rng(20201)
    cases = []
    for name, layers, heads, n, causal in [("bidirectional", 3, 2, 7, False), ("causal", 4, 3, 6, True), ("one_layer", 1, 2, 5, False)]:
        attention = random_attention(rng, layers, heads, n, causal)
        flow = attention_flow(residual_layers(attention))
        cases.append({"name": name, "layers": layers, "heads": heads, "tokens": n,
                      "attention": attention.reshape(-1).tolist(), "flow": flow.reshape(-1).tolist()})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"comment": "written by tools/reference/flow.py: attention (L, H, N, N) "
                                    "row-major float32, flow (N, N) float64 rows = output tokens", "cases": cases}, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
