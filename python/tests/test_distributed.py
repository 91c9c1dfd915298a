"""Distributed runs: only rank 0 writes; tensor-parallel shares of the heads are gathered to it.

A tiny stand-in model whose "attention modules" return a fixed share of each layer's heads
(rank r of w holds heads r·H/w … (r+1)·H/w - 1); torch.distributed over gloo on this machine.
"""
import unittest
from unittest import mock

import support
from support import needs_torch, read, torch

if torch is not None:
    from torch import nn

    from attnscope_recorder import RecordingError, record_with_hooks

TOKENS = ["a", "b", "c"]
L, H, N = 3, 4, len(TOKENS)


def full_probs(layer):
    """Layer `layer`'s probabilities, all heads: (H, N, N)."""
    s = torch.randn(H, N, N, generator=torch.Generator().manual_seed(layer))
    return torch.softmax(s, dim=-1)


if torch is not None:
    class ShardedAttention(nn.Module):
        """Returns (x, this rank's share of the layer's heads [1, H/world, N, N])."""

        def __init__(self, layer, rank, world):
            super().__init__()
            self.layer, self.rank, self.share = layer, rank, H // world
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            heads = full_probs(self.layer)[self.rank * self.share:(self.rank + 1) * self.share]
            return x, heads[None]


def model(rank=0, world=1):
    return nn.ModuleList(ShardedAttention(layer, rank, world) for layer in range(L))


def forward(layers):
    x = torch.zeros(1)
    for m in layers:
        x, _ = m(x)
    return "ran"


def init_gloo(store, rank, world):
    torch.distributed.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)


def tensor_parallel_worker(rank, world, store, out):
    """One rank of a torch.multiprocessing.spawn run."""
    init_gloo(store, rank, world)
    try:
        layers = model(rank, world)
        record_with_hooks(layers, lambda: forward(layers), out, TOKENS, num_heads=H)
    finally:
        torch.distributed.destroy_process_group()


@needs_torch
class DistributedTest(support.TempDirTest):
    def setUp(self):
        super().setUp()
        (self.dir / "store").mkdir()
        (self.dir / "out").mkdir()
        self.out = self.dir / "out" / "rec.safetensors"

    def assert_recorded(self):
        tensors, _ = read(self.out)
        for layer in range(L):
            self.assertTrue(torch.equal(tensors[f"attention.layer{layer}"], full_probs(layer)), layer)

    def test_other_ranks_run_the_forward_and_write_nothing(self):
        layers = model()
        with mock.patch("attnscope_recorder.hooks.rank", return_value=1):
            result = record_with_hooks(layers, lambda: forward(layers), self.out, TOKENS)
        self.assertEqual(result, "ran")
        self.assertEqual([m.calls for m in layers], [1] * L)
        self.assertEqual(list((self.dir / "out").iterdir()), [])

    def test_a_share_of_the_heads_without_tensor_parallelism_is_an_error(self):
        layers = model(rank=0, world=2)  # half the heads, in a single process
        with self.assertRaisesRegex(RecordingError, r"layer 0 gave 2 heads, but the model has 4 \(1 process\)"):
            record_with_hooks(layers, lambda: forward(layers), self.out, TOKENS, num_heads=H)
        self.assertEqual(list((self.dir / "out").iterdir()), [])

    def test_rank_zero_of_a_gloo_group_writes(self):
        init_gloo(self.dir / "store" / "file", 0, 1)
        try:
            layers = model()
            record_with_hooks(layers, lambda: forward(layers), self.out, TOKENS, num_heads=H)
        finally:
            torch.distributed.destroy_process_group()
        self.assert_recorded()

    def test_tensor_parallel_shares_are_gathered_to_rank_zero(self):
        torch.multiprocessing.spawn(tensor_parallel_worker, args=(2, str(self.dir / "store" / "file"), str(self.out)),
                                    nprocs=2)
        self.assert_recorded()
        self.assertEqual([p.name for p in (self.dir / "out").iterdir()], ["rec.safetensors"])


if __name__ == "__main__":
    unittest.main()
