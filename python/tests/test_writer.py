"""RecordingWriter: the file it writes, streaming, failures, late metadata."""
import gc
import json
import os
import struct
import unittest
import weakref

import support
from support import needs_torch, needs_torch_and_bin, read, torch

if torch is not None:
    from attnscope_recorder import RecordingError, RecordingWriter, parse_layers

TOKENS = ["<s>", "the", " cat", " sat"]
H, N, D = 2, len(TOKENS), 3


def probs(seed):
    """(H, N, N) rows summing to 1, causal."""
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(H, N, N, generator=g).masked_fill(torch.ones(N, N, dtype=torch.bool).triu(1), float("-inf"))
    return torch.softmax(s, dim=-1)


def vectors(seed, heads=H):
    return torch.randn(heads, N, D, generator=torch.Generator().manual_seed(seed))


def header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return n, json.loads(f.read(n))


@needs_torch
class WriterTest(support.TempDirTest):
    def test_round_trip_with_qkv_and_metadata(self):
        out = self.dir / "rec.safetensors"
        meta = {"model": "tiny", "family": "llama", "causal": True, "special_tokens": [1, 0, 0, 0],
                "num_key_value_heads": 1, "task": "causal-lm"}
        with RecordingWriter(out, TOKENS, 2, H, head_dim=D, qkv=True, metadata=meta) as w:
            for layer in (1, 0):  # any order
                w.write_layer(layer, probs(layer), vectors(10 + layer), vectors(20 + layer, heads=1),
                              vectors(30 + layer, heads=1))
        tensors, md = read(out)
        self.assertEqual(tensors["attention.layer1"].dtype, torch.float32)
        self.assertTrue(torch.equal(tensors["attention.layer1"], probs(1)))
        self.assertTrue(torch.equal(tensors["query.layer0"], vectors(10)))
        # Grouped-query keys are repeated to every query head of the group.
        self.assertTrue(torch.equal(tensors["key.layer1"], vectors(21, heads=1).expand(H, N, D)))
        self.assertEqual(md["format"], "attnscope-recording")
        self.assertEqual(json.loads(md["tokens"]), TOKENS)
        self.assertEqual((md["num_layers"], md["num_heads"], md["num_tokens"], md["head_dim"]), ("2", "2", "4", "3"))
        self.assertEqual((md["causal"], md["special_tokens"], md["num_key_value_heads"]), ("true", "[1,0,0,0]", "1"))

    def test_offsets_are_contiguous_and_the_header_aligned(self):
        out = self.dir / "rec.safetensors"
        with RecordingWriter(out, TOKENS, 3, H, dtype="f16", head_dim=D, qkv=True) as w:
            for layer in range(3):
                w.write_layer(layer, probs(layer), vectors(1), vectors(2), vectors(3))
        n, h = header(out)
        self.assertEqual(n % 8, 0)
        spans = sorted(v["data_offsets"] for k, v in h.items() if k != "__metadata__")
        self.assertEqual(spans[0][0], 0)
        self.assertTrue(all(a[1] == b[0] for a, b in zip(spans, spans[1:])), "holes or overlaps between tensors")
        self.assertEqual(os.path.getsize(out), 8 + n + spans[-1][1])

    def test_f16(self):
        out = self.dir / "rec.safetensors"
        with RecordingWriter(out, TOKENS, 1, H, dtype="f16") as w:
            w.write_layer(0, probs(0)[None])  # a batch axis of 1 is accepted
        self.assertEqual(header(out)[1]["attention.layer0"]["dtype"], "F16")
        a = read(out)[0]["attention.layer0"]
        self.assertEqual(a.dtype, torch.float16)
        self.assertLess((a.double() - probs(0).double()).abs().max().item(), 5e-4)

    def test_each_layer_is_on_disk_when_written(self):
        out = self.dir / "rec.safetensors"
        w = RecordingWriter(out, TOKENS, 3, H)
        w.write_layer(0, probs(0))
        self.assertFalse(out.exists(), "the target appears only at close()")
        n, h = header(w.temp_path)
        begin, end = h["attention.layer0"]["data_offsets"]
        with open(w.temp_path, "rb") as f:
            f.seek(8 + n + begin)
            on_disk = torch.frombuffer(bytearray(f.read(end - begin)), dtype=torch.float32).view(H, N, N)
        self.assertTrue(torch.equal(on_disk, probs(0)))
        w.abort()
        self.assertEqual(list(self.dir.iterdir()), [])

    def test_the_writer_keeps_no_layer(self):
        out = self.dir / "rec.safetensors"
        with RecordingWriter(out, TOKENS, 2, H) as w:
            for layer in range(2):
                a = probs(layer)
                alive = weakref.ref(a)
                w.write_layer(layer, a)
                del a
                gc.collect()
                self.assertIsNone(alive(), "the writer still holds a layer it has written")

    def test_an_exception_leaves_no_file_and_names_the_missing_layers(self):
        out = self.dir / "rec.safetensors"
        out.write_bytes(b"an earlier recording")
        with self.assertLogs("attnscope_recorder", "WARNING") as logs, self.assertRaises(RuntimeError):
            with RecordingWriter(out, TOKENS, 4, H) as w:
                w.write_layer(0, probs(0))
                w.write_layer(1, probs(1))
                raise RuntimeError("out of memory in layer 2")
        self.assertIn("missing 2-3", logs.output[0])
        self.assertEqual(out.read_bytes(), b"an earlier recording", "the earlier file must stay as it was")
        self.assertEqual([p.name for p in self.dir.iterdir()], ["rec.safetensors"])

    def test_missing_layers_at_close(self):
        out = self.dir / "rec.safetensors"
        w = RecordingWriter(out, TOKENS, 5, H)
        w.write_layer(1, probs(1))
        w.write_layer(3, probs(3))
        with self.assertRaisesRegex(RecordingError, r"layers 0, 2, 4 of 5 never arrived"):
            w.close()
        self.assertEqual(list(self.dir.iterdir()), [])

    def test_shapes_are_checked(self):
        w = RecordingWriter(self.dir / "rec.safetensors", TOKENS, 1, H, head_dim=D, qkv=True)
        with self.assertRaisesRegex(RecordingError, r"attention.layer0 has shape \[2, 4, 3\], the recording needs \[2, 4, 4\]"):
            w.write_layer(0, probs(0)[:, :, :3], vectors(1), vectors(2), vectors(3))
        with self.assertRaisesRegex(RecordingError, "give all three"):
            w.write_layer(0, probs(0))
        with self.assertRaisesRegex(RecordingError, "out of range"):
            w.write_layer(1, probs(0), vectors(1), vectors(2), vectors(3))
        w.abort()

    def test_metadata_is_checked(self):
        with self.assertRaisesRegex(RecordingError, "special_tokens"):
            RecordingWriter(self.dir / "a.safetensors", TOKENS, 1, H, metadata={"special_tokens": [1, 0]})
        with self.assertRaisesRegex(RecordingError, "ascending"):
            RecordingWriter(self.dir / "b.safetensors", TOKENS, 2, H, metadata={"layers": [3, 1]})
        with self.assertRaisesRegex(RecordingError, "does not divide"):
            RecordingWriter(self.dir / "c.safetensors", TOKENS, 1, H, metadata={"num_key_value_heads": 3})
        self.assertEqual(list(self.dir.iterdir()), [])
        with RecordingWriter(self.dir / "d.safetensors", TOKENS, 1, H) as w:
            w.write_layer(0, probs(0))
            with self.assertRaisesRegex(RecordingError, "'num_heads' is fixed"):
                w.set_metadata("num_heads", 3)

    def test_late_metadata_fits_the_reserved_room(self):
        out = self.dir / "rec.safetensors"
        with RecordingWriter(out, TOKENS, 1, H) as w:
            w.write_layer(0, probs(0))
            room = header(w.temp_path)[0]
            w.set_metadata("attnscope.predictions", {"task": "next-token", "position": 3,
                                                    "top": [{"label": " mat", "id": 7, "prob": 0.5}]})
        self.assertEqual(header(out)[0], room, "the header was rewritten in place")
        self.assertEqual(json.loads(read(out)[1]["attnscope.predictions"])["top"][0]["label"], " mat")

    def test_late_metadata_larger_than_the_room(self):
        out = self.dir / "rec.safetensors"
        with RecordingWriter(out, TOKENS, 2, H, reserve=0) as w:
            w.write_layer(0, probs(0))
            w.write_layer(1, probs(1))
            w.set_metadata("notes", "x" * 5000)
        tensors, md = read(out)
        self.assertEqual(md["notes"], "x" * 5000)
        self.assertTrue(torch.equal(tensors["attention.layer1"], probs(1)))
        self.assertEqual([p.name for p in self.dir.iterdir()], ["rec.safetensors"])

    def test_parse_layers(self):
        self.assertEqual(parse_layers("0,2,5-7", 8), [0, 2, 5, 6, 7])
        self.assertEqual(parse_layers("3,1,1", 4), [1, 3])
        self.assertEqual(parse_layers([2, 0], 3), [0, 2])
        for bad in ("8", "1-", "3-1", "a", ""):
            with self.assertRaises(RecordingError, msg=bad):
                parse_layers(bad, 8)


@needs_torch_and_bin
class WriterOpensInAttnScopeTest(support.TempDirTest):
    def test_attnscope_info_reads_what_the_writer_wrote(self):
        for dtype in ("f32", "f16"):
            out = self.dir / f"rec-{dtype}.safetensors"
            with RecordingWriter(out, TOKENS, 2, H, dtype=dtype, head_dim=D, qkv=True,
                                 metadata={"model": "tiny", "family": "llama", "causal": True, "layers": [1, 3],
                                           "num_key_value_heads": 1, "special_tokens": [1, 0, 0, 0]}) as w:
                for layer in range(2):
                    w.write_layer(layer, probs(layer), vectors(1), vectors(2, heads=1), vectors(3, heads=1))
                w.set_metadata("notes", "y" * 40000)  # outgrows the reserved room
            info = json.loads(support.attnscope("info", "--recording", out, "--json").stdout)
            self.assertEqual((info["layers"], info["heads"], info["tokens"]), (2, H, N), dtype)
            self.assertEqual(info["token_strings"], TOKENS)
            self.assertTrue(info["has_qkv"] and info["causal"])
            self.assertEqual(info["num_key_value_heads"], 1)

    def test_long_recordings_carry_a_pyramid_attnscope_reads(self):
        n, heads = 1030, 2
        g = torch.Generator().manual_seed(4)
        att = torch.rand(heads, n, n, generator=g).tril()
        att = att / att.sum(-1, keepdim=True)
        for dtype in ("f32", "f16"):
            out = self.dir / f"long-{dtype}.safetensors"
            with RecordingWriter(out, [f"t{i}" for i in range(n)], 1, heads, dtype=dtype,
                                 metadata={"causal": True}) as w:
                w.write_layer(0, att)
            tensors, md = read(out)
            self.assertEqual(json.loads(md["pyramid"]), [4, 16])
            stored = tensors["attention.layer0"].float()
            for f in (4, 16):  # block maxima, cell by cell over the blocks
                side = -(-n // f)
                want = torch.stack([torch.stack([stored[:, i * f:(i + 1) * f, j * f:(j + 1) * f].amax(dim=(1, 2))
                                                 for j in range(side)], dim=-1) for i in range(side)], dim=1)
                self.assertTrue(torch.equal(tensors[f"attention_max{f}.layer0"].float(), want), (dtype, f))
            info = json.loads(support.attnscope("info", "--recording", out, "--json").stdout)
            self.assertEqual(info["pyramid"], [4, 16])


if __name__ == "__main__":
    unittest.main()
