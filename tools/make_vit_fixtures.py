#!/usr/bin/python3
"""Regenerates the image-model fixtures:

    /usr/bin/python3 tools/make_vit_fixtures.py [--out DIR]

- tests/fixtures/images/: small synthetic test images (PNG, JPEG, BMP: gradients and shapes)
  and expected_preprocess.safetensors, Pillow's resize of a test image for every filter and
  several sizes (up and down), whole preprocessing pipelines (Hugging Face ViT/DeiT image
  processor semantics), and torch's bicubic interpolation of a grid.
- tests/fixtures/models/{vit_cls,vit_interp,deit_teacher}/: tiny random ViT / DeiT
  checkpoints in Hugging Face layout with preprocessor_config.json, and
  expected_image/<case>.safetensors holding the decoded image (image_rgb8), its
  pixel_values and every intermediate the engine records, computed in float64 by
  tools/reference/vit.py from the weights as stored.
Seeded and deterministic; the self-checks at the end must all pass (exit status 1 if not).
"""
import argparse
import json
import shutil
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import Checks, write_json  # noqa: E402
from reference import checks, safetensors_io, vit  # noqa: E402
from reference import image_processing as ip  # noqa: E402

SEED = 2024
INIT_STD = 0.25
FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
LABELS = ["circle", "square", "triangle", "stripes", "gradient"]
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


# --- test images -----------------------------------------------------------------------

def gradient(w, h, seed):
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(seed)
    img = np.stack([255 * x / max(w - 1, 1), 255 * y / max(h - 1, 1), 128 + 100 * np.sin((x + y) / 3.0)], -1)
    return np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)


def make_images(d):
    """name -> file written; each a few KB."""
    d.mkdir(parents=True, exist_ok=True)
    shapes = Image.fromarray(gradient(50, 40, 1))
    draw = ImageDraw.Draw(shapes)
    draw.ellipse((4, 5, 22, 23), fill=(220, 30, 30))
    draw.rectangle((28, 4, 45, 20), fill=(20, 40, 200))
    draw.polygon([(10, 37), (24, 26), (38, 37)], fill=(250, 220, 10))
    shapes.save(d / "shapes.png")
    Image.fromarray(gradient(28, 21, 2)).save(d / "gradient.jpg", quality=92)
    stripes = np.zeros((30, 45, 3), np.uint8)
    for x in range(45):
        stripes[:, x] = (255, 255, 255) if (x // 4) % 2 else (30, 90, 30)
    stripes[10:20, 15:30] = (200, 0, 160)
    Image.fromarray(stripes).save(d / "stripes.bmp")
    y, x = np.mgrid[0:40, 0:48]
    checker = np.where(((x // 8 + y // 8) % 2)[..., None] == 1, [240, 240, 240], [20, 20, 60]).astype(np.uint8)
    checker[..., 0] = np.clip(checker[..., 0].astype(int) + 4 * x, 0, 255)
    Image.fromarray(checker).save(d / "checker.png")
    write_huge_png_header(d / "huge_header.png")
    return {p.name: p for p in sorted(d.iterdir()) if p.suffix in (".png", ".jpg", ".bmp") and "header" not in p.name}


def write_huge_png_header(path, size=20000):
    """A valid PNG header claiming size × size pixels, with a token of data: decoders learn
    the size before allocating, so front ends can refuse it (the CLI's "too large" test)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


# --- preprocessing fixture -------------------------------------------------------------

RESIZE_SIZES = [(16, 16), (64, 40), (37, 11), (90, 23), (5, 3), (1, 1), (36, 24), (19, 46)]
PIPELINES = {
    "vit_bilinear": ("shapes.png", {"size": {"height": 24, "width": 24}, "resample": 2}, ip.VIT_DEFAULTS),
    "deit_bicubic_crop": ("stripes.bmp", {"size": 36, "resample": 3, "crop_size": 32}, ip.DEIT_DEFAULTS),
    "crop_pads": ("gradient.jpg", {"do_resize": False, "do_center_crop": True,
                                   "crop_size": {"height": 30, "width": 24}}, ip.VIT_DEFAULTS),
    "shortest_edge_lanczos": ("shapes.png", {"size": {"shortest_edge": 20}, "resample": 1, "do_rescale": False,
                                             "image_mean": [120, 110, 100], "image_std": [60, 50, 70]},
                              ip.VIT_DEFAULTS),
    "nearest_no_normalize": ("checker.png", {"size": [17, 50], "resample": 0, "do_normalize": False},
                             ip.VIT_DEFAULTS),
    "longest_edge_box": ("stripes.bmp", {"size": {"shortest_edge": 20, "longest_edge": 24}, "resample": 4,
                                         "rescale_factor": 0.5}, ip.VIT_DEFAULTS),
}
INTERP_SIZES = [(5, 6), (3, 5), (2, 2), (4, 4), (7, 1), (9, 9)]


def preprocess_fixture(images, path, results):
    tensors, meta = {}, {"format": "attnscope-preprocess-fixture"}
    src = gradient(37, 23, 3)
    tensors["source"] = torch.from_numpy(src)
    for name, im in images.items():
        tensors[f"image.{name}"] = torch.from_numpy(ip.load_rgb(im))
    for f in range(6):
        for w, h in RESIZE_SIZES:
            tensors[f"resize.{f}.{w}x{h}"] = torch.from_numpy(ip.resize(src, h, w, f))
    for name, (image, cfg, defaults) in PIPELINES.items():
        tensors[f"pipeline.{name}"] = torch.from_numpy(ip.preprocess(ip.load_rgb(images[image]), cfg, defaults))
        meta[f"pipeline.{name}.image"] = image
        meta[f"pipeline.{name}.config"] = json.dumps(cfg)
        meta[f"pipeline.{name}.defaults"] = "deit" if defaults is ip.DEIT_DEFAULTS else "vit"
    g = torch.Generator().manual_seed(SEED)
    grid = torch.randn(5, 4, 4, generator=g, dtype=torch.float64)  # (C, h, w)
    tensors["interp.grid"] = grid.permute(1, 2, 0).reshape(16, 5).float()
    err = 0.0
    for h, w in INTERP_SIZES:
        out = F.interpolate(grid[None], size=(h, w), mode="bicubic", align_corners=False)[0]
        err = max(err, (vit.bicubic_resize(grid, h, w) - out).abs().max().item())
        tensors[f"interp.{h}x{w}"] = out.permute(1, 2, 0).reshape(h * w, 5).float()
    results.add("bicubic formula vs F.interpolate", err, 1e-12)
    safetensors_io.write(path, {k: v.contiguous() for k, v in tensors.items()}, meta)


# --- models ----------------------------------------------------------------------------

@dataclass
class Fixture:
    name: str
    cfg: dict
    preprocessor: dict
    cases: dict  # case -> image file name
    seed: int


def fixtures():
    vit_pre = {"do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5],
               "image_processor_type": "ViTImageProcessor", "image_std": [0.5, 0.5, 0.5], "resample": 2,
               "rescale_factor": 1 / 255, "size": {"height": 32, "width": 32}}
    deit_pre = {"crop_size": {"height": 32, "width": 32}, "do_center_crop": True, "do_normalize": True,
                "do_rescale": True, "do_resize": True, "image_mean": IMAGENET_MEAN,
                "image_processor_type": "DeiTImageProcessor", "image_std": IMAGENET_STD, "resample": 3,
                "rescale_factor": 1 / 255, "size": {"height": 36, "width": 36}}
    return [
        Fixture("vit_cls", vit.config("vit", "ViTForImageClassification", 32, 8, 32, 2, 2, 64, LABELS),
                vit_pre, {"shapes": "shapes.png", "gradient": "gradient.jpg"}, SEED + 1),
        Fixture("vit_interp", vit.config("vit", "ViTModel", 32, 8, 32, 2, 4, 64, qkv_bias=False),
                dict(vit_pre, do_resize=False), {"checker": "checker.png", "stripes": "stripes.bmp"}, SEED + 2),
        Fixture("deit_teacher", vit.config("deit", "DeiTForImageClassificationWithTeacher", 32, 8, 32, 2, 2, 64,
                                           LABELS), deit_pre, {"stripes": "stripes.bmp", "shapes": "shapes.png"},
                SEED + 3),
    ]


def build(fx):
    return vit.ARCHITECTURES[fx.cfg["architectures"][0]](fx.cfg)


def init_weights(model, seed):
    """N(0, INIT_STD²) tensors, N(0, 0.1²) biases, LayerNorm gains 1 + N(0, 0.1²)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if "layernorm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            else:
                p.copy_(INIT_STD * noise)


def load_model(fx, d):
    tensors, _ = safetensors_io.read(d / "model.safetensors")
    model = build(fx).double().eval()
    model.load_state_dict({k: v.double() for k, v in tensors.items()}, strict=True)
    return model


def expected_tensors(rgb, pixel_values, trace):
    f32 = torch.float32
    t = {"image_rgb8": torch.from_numpy(rgb), "pixel_values": pixel_values.to(f32)}
    for layer in range(len(trace.attentions)):
        t[f"attention.layer{layer}"] = trace.attentions[layer].to(f32)  # (H, N, N)
        t[f"scores.layer{layer}"] = trace.scores[layer].to(f32)
        t[f"query.layer{layer}"] = trace.queries[layer].to(f32)  # (H, N, d_head)
        t[f"key.layer{layer}"] = trace.keys[layer].to(f32)
        t[f"value.layer{layer}"] = trace.values[layer].to(f32)
    for i, h in enumerate(trace.hidden_states):
        t[f"hidden.{i}"] = h.to(f32)  # (N, C)
    if trace.logits is not None:
        t["logits"] = trace.logits.to(f32)  # (num_labels,)
    return {k: v.contiguous() for k, v in t.items()}


def tokens(fx, pixel_values):
    p = fx.cfg["patch_size"]
    gh, gw = pixel_values.shape[1] // p, pixel_values.shape[2] // p
    prefix = ["[CLS]"] + (["[DIST]"] if fx.cfg["model_type"] == "deit" else [])
    return prefix + [f"p({r},{c})" for r in range(gh) for c in range(gw)], f"{gh}x{gw}"


def generate_model(fx, images, out, results):
    d = out / fx.name
    shutil.rmtree(d, ignore_errors=True)
    (d / "expected_image").mkdir(parents=True)
    write_json(d / "config.json", fx.cfg)
    write_json(d / "preprocessor_config.json", fx.preprocessor)
    model = build(fx)
    init_weights(model, fx.seed)
    state = {k: v.detach().float() for k, v in model.state_dict().items()}
    if fx.cfg["architectures"][0] == "ViTModel":  # a bare backbone is saved without prefix
        assert not any(k.startswith("vit.") for k in state)
    safetensors_io.write(d / "model.safetensors", state, {"format": "pt"})
    model = load_model(fx, d)
    defaults = ip.DEIT_DEFAULTS if fx.cfg["model_type"] == "deit" else ip.VIT_DEFAULTS
    summary = []
    for case, image in fx.cases.items():
        rgb = ip.load_rgb(images[image])
        pixel_values = torch.from_numpy(ip.preprocess(rgb, fx.preprocessor, defaults))
        with torch.no_grad():
            trace = model(pixel_values.double())
        toks, grid = tokens(fx, pixel_values)
        assert len(toks) == trace.attentions[0].shape[-1]
        meta = {"image": image, "task": "image-classification" if trace.logits is not None else "base",
                "tokens": json.dumps(toks), "image_grid": grid}
        path = d / "expected_image" / f"{case}.safetensors"
        want = expected_tensors(rgb, pixel_values, trace)
        safetensors_io.write(path, want, meta)
        with torch.no_grad():
            results.add("attention rows sum to 1", checks.rows_sum_to_one(trace), 1e-12)
            results.add("vit layers vs nn.TransformerEncoderLayer/MHA", vit.layers_vs_torch(model, trace), 1e-10)
            results.add("vit embeddings vs unfold + own bicubic", vit.embeddings_vs_torch(model, pixel_values.double(),
                                                                                        trace), 1e-10)
            results.add("vit heads vs torch.nn.functional", vit.heads_vs_torch(model, trace), 1e-10)
            model32 = build(fx).eval()
            model32.load_state_dict({k: v.float() for k, v in model.state_dict().items()})
            got = expected_tensors(rgb, pixel_values, model32(pixel_values))
        err = max((got[k] - want[k]).abs().max().item() for k in want if want[k].is_floating_point())
        results.add("float32 run vs float64 golden (all tensors)", err, 1e-4)
        stored, _ = safetensors_io.read(path)
        results.add("expected files read back identical",
                    float(sum(not torch.equal(stored[k], want[k]) for k in want)), 0.0)
        summary.append((fx.name, case, image, grid, len(toks)))
    return summary


def dir_size(path):
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=FIXTURES, help="fixtures folder (default: %(default)s)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = Checks()
    images = make_images(args.out / "images")
    preprocess_fixture(images, args.out / "images" / "expected_preprocess.safetensors", results)
    summary = []
    for fx in fixtures():
        summary += generate_model(fx, images, args.out / "models", results)
    for name, case, image, grid, n in summary:
        print(f"{name:13s} {case:9s} {image:13s} grid {grid:5s} N={n}")
    total = dir_size(args.out / "images") + sum(dir_size(args.out / "models" / fx.name) for fx in fixtures())
    print(f"total size: {total / 1e3:.0f} kB")
    return results.exit_status()


if __name__ == "__main__":
    sys.exit(main())
