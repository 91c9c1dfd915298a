#!/usr/bin/python3
"""Trains attnscope-vit-fashion: a small ViT (ViTForImageClassification) on Fashion-MNIST.

    /usr/bin/python3 tools/train/train_vit_fashion.py [--out DIR] [--fixture FILE] [--cli EXE]
    /usr/bin/python3 tools/train/train_vit_fashion.py --check-only --cli build/app/attnscope

Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/*.gz, idx format;
Zalando SE 2017, MIT/Expat licence, /usr/share/doc/dataset-fashion-mnist/copyright): 60k
training and 10k test images, 28 x 28 grey. Model: the reference ViT of tools/reference/vit.py
(Hugging Face names), trained with a batched forward written below over its parameters; the
grey image is replicated to 3 channels, so the saved model takes ordinary pictures.
Augmentation: random horizontal flips (shifts of 2 pixels slowed learning down within this
budget, the position embeddings being absolute). One CPU thread, seeded; AdamW with warm-up
and cosine decay planned over MAX_EPOCHS; after each epoch the 10k test set is scored, and
training stops at TARGET accuracy (or after MAX_EPOCHS; TIME_LIMIT is only a guard, and a
run that hits it says so, since it would not be reproducible). About 13 minutes here.

Writes config.json, model.safetensors (F32), preprocessor_config.json (ViTImageProcessor),
examples/<class>.png (one correctly classified test image per class, outside the held-out
slice) and attnscope.json, and the held-out slice tests/fixtures/fashion/heldout.safetensors
(test images 0..HELDOUT-1 as U8, their labels and this model's logits). Then reloads the
folder with the reference loader, runs the examples through Hugging Face's preprocessing
(tools/reference/image_processing.py) and, with --cli, through `attnscope predict --json`,
and compares the probabilities. --check-only runs just these checks on a saved folder.
"""
import argparse
import gzip
import json
import math
import struct
import subprocess
import sys
from pathlib import Path

import train_common as tc  # first: sets thread limits and sys.path
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from reference import image_processing, safetensors_io, vit

SEED = 1234
DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
          "Ankle boot"]
# Mean and standard deviation of the 60k training pixels on [0, 1] (printed by the script).
PIXEL_MEAN, PIXEL_STD = 0.2860, 0.3530
IMAGE, PATCH, HIDDEN, LAYERS, HEADS, FFN = 28, 4, 64, 4, 4, 128
BATCH, MAX_EPOCHS, WARMUP = 64, 10, 300
PEAK_LR, WEIGHT_DECAY, BETAS = 1e-3, 0.05, (0.9, 0.999)
TARGET = 0.87
TIME_LIMIT = 45 * 60  # seconds; a guard, see above
HELDOUT = 300  # test images 0..HELDOUT-1 go to the fixture; examples come from the rest
EXAMPLE_MIN_PROB = 0.9

OUT = tc.MODELS_DIR / "attnscope-vit-fashion"
FIXTURE = tc.REPO_DIR / "tests" / "fixtures" / "fashion" / "heldout.safetensors"


def read_idx(path):
    """An idx file (big-endian dims, unsigned bytes) as a uint8 tensor."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte idx file")
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def load_split(name):
    """(images (n, 28, 28) uint8, labels (n,) int64) of 'train' or 't10k'."""
    images = read_idx(DATA_DIR / f"{name}-images-idx3-ubyte.gz")
    labels = read_idx(DATA_DIR / f"{name}-labels-idx1-ubyte.gz").long()
    return images, labels


def model_config():
    """config.json: every ViTConfig key (pooler_* as recent transformers writes them; unused
    by ViTForImageClassification, which has no pooler)."""
    cfg = vit.config("vit", "ViTForImageClassification", IMAGE, PATCH, HIDDEN, LAYERS, HEADS, FFN, labels=LABELS)
    cfg.update({"pooler_act": "tanh", "pooler_output_size": HIDDEN})
    return cfg


def processor_config():
    return {"do_normalize": True, "do_rescale": True, "do_resize": True,
            "image_mean": [PIXEL_MEAN] * 3, "image_processor_type": "ViTImageProcessor",
            "image_std": [PIXEL_STD] * 3, "resample": 2, "rescale_factor": 1 / 255,
            "size": {"height": IMAGE, "width": IMAGE}}


def init_weights(model, std=0.02):
    """ViT init: LayerNorm gains 1, biases 0, every other tensor (projections, [CLS], position
    embeddings) N(0, std)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            elif "layernorm" in name:
                p.fill_(1.0)
            else:
                p.normal_(0.0, std)


def pixels(gray):
    """uint8 (B, 28, 28) -> normalised float (B, 3, 28, 28), the processor's maths."""
    x = (gray.float() / 255 - PIXEL_MEAN) / PIXEL_STD
    return x[:, None].expand(-1, 3, -1, -1)


def augment(gray, gen):
    """Random horizontal flips of uint8 (B, 28, 28)."""
    flip = torch.rand(gray.shape[0], generator=gen) < 0.5
    return torch.where(flip[:, None, None], gray.flip(-1), gray)


def forward(model, x):
    """Batched reference.vit.ViTForImageClassification forward: x (B, 3, 28, 28) ->
    logits (B, labels). Same maths as the reference's unbatched forward (checked on reload)."""
    v = model.vit
    eps, n_head = v.cfg["layer_norm_eps"], v.cfg["num_attention_heads"]
    emb = v.embeddings
    proj = emb.patch_embeddings.projection
    patches = F.conv2d(x, proj.weight, proj.bias, stride=PATCH).flatten(2).transpose(1, 2)  # (B, P, C)
    b, _, c = patches.shape
    h = torch.cat([emb.cls_token.expand(b, -1, -1), patches], 1) + emb.position_embeddings  # (B, N, C)
    n = h.shape[1]
    for layer in v.encoder.layer:
        sa = layer.attention.attention
        y = F.layer_norm(h, (c,), layer.layernorm_before.weight, layer.layernorm_before.bias, eps)
        q, k, w = (F.linear(y, f.weight, f.bias).view(b, n, n_head, c // n_head).transpose(1, 2)
                   for f in (sa.query, sa.key, sa.value))  # (B, H, N, d)
        probs = (q @ k.transpose(-1, -2) / math.sqrt(c // n_head)).softmax(-1)  # (B, H, N, N)
        context = (probs @ w).transpose(1, 2).reshape(b, n, c)
        h = h + layer.attention.output.dense(context)
        y = F.layer_norm(h, (c,), layer.layernorm_after.weight, layer.layernorm_after.bias, eps)
        h = h + layer.output.dense(F.gelu(layer.intermediate.dense(y)))
    cls = F.layer_norm(h[:, 0], (c,), v.layernorm.weight, v.layernorm.bias, eps)  # (B, C)
    return model.classifier(cls)


@torch.no_grad()
def predict_all(model, images, batch=500):
    """Logits (n, labels) of uint8 images (n, 28, 28)."""
    model.eval()
    out = torch.cat([forward(model, pixels(images[i:i + batch])) for i in range(0, len(images), batch)])
    model.train()
    return out


def train(model, train_x, train_y, test_x, test_y):
    """Returns (epochs run, final test accuracy, minutes, whether TIME_LIMIT stopped it)."""
    gen = torch.Generator().manual_seed(SEED)
    steps_per_epoch = len(train_x) // BATCH
    total = MAX_EPOCHS * steps_per_epoch
    opt = tc.adamw(model, PEAK_LR, WEIGHT_DECAY, BETAS)
    model.train()
    start, step, running, acc = tc.elapsed(), 0, None, 0.0
    for epoch in range(1, MAX_EPOCHS + 1):
        order = torch.randperm(len(train_x), generator=gen)
        for i in range(steps_per_epoch):
            idx = order[i * BATCH:(i + 1) * BATCH]
            for group in opt.param_groups:
                group["lr"] = tc.cosine_lr(step, total, PEAK_LR, WARMUP)
            logits = forward(model, pixels(augment(train_x[idx], gen)))
            loss = F.cross_entropy(logits, train_y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
            if step % 200 == 0:
                tc.log(f"epoch {epoch} step {step:5d} train loss {running:.3f} lr {opt.param_groups[0]['lr']:.2e}")
        acc = (predict_all(model, test_x).argmax(-1) == test_y).float().mean().item()
        minutes = (tc.elapsed() - start) / 60
        tc.log(f"epoch {epoch}: test accuracy {acc:.4f} ({minutes:.1f} min)")
        if acc >= TARGET:
            return epoch, acc, minutes, False
        if tc.elapsed() - start > TIME_LIMIT and epoch < MAX_EPOCHS:
            tc.log(f"TIME_LIMIT of {TIME_LIMIT / 60:.0f} min reached: stopping early (not reproducible)")
            return epoch, acc, minutes, True
    return MAX_EPOCHS, acc, (tc.elapsed() - start) / 60, False


def slug(label):
    """'T-shirt/top' -> 't-shirt-top', 'Ankle boot' -> 'ankle-boot'."""
    return "".join(ch if ch.isalnum() else "-" for ch in label.lower())


def save_examples(out, model, test_x, test_y):
    """One test image per class (index >= HELDOUT, first one classified right with probability
    >= EXAMPLE_MIN_PROB), as a 28 x 28 grey PNG. Returns the relative paths."""
    probs = predict_all(model, test_x).softmax(-1)
    (out / "examples").mkdir(parents=True, exist_ok=True)
    paths = []
    for cls, label in enumerate(LABELS):
        ok = (test_y == cls) & (probs[:, cls] >= EXAMPLE_MIN_PROB) & (probs.argmax(-1) == cls)
        ok[:HELDOUT] = False
        if not ok.any():
            raise RuntimeError(f"no test image of class {label!r} is classified right with p >= {EXAMPLE_MIN_PROB}")
        index = int(ok.nonzero()[0])
        rel = f"examples/{slug(label)}.png"
        Image.fromarray(test_x[index].numpy(), mode="L").save(out / rel, optimize=True)
        tc.log(f"  {rel}: test image {index}, p({label}) = {probs[index, cls]:.3f}")
        paths.append(rel)
    return paths


def save_fixture(path, ref_model, test_x, test_y):
    """Test images 0..HELDOUT-1 (never trained on) as U8, their labels, and the reference
    model's logits on Hugging Face's preprocessing of each. Returns the slice accuracy."""
    proc = processor_config()
    images = test_x[:HELDOUT]
    with torch.no_grad():
        logits = torch.stack([ref_model(torch.from_numpy(image_processing.preprocess(
            np.repeat(img.numpy()[:, :, None], 3, 2), proc))).logits for img in images])
    acc = (logits.argmax(-1) == test_y[:HELDOUT]).float().mean().item()
    path.parent.mkdir(parents=True, exist_ok=True)
    size = safetensors_io.write(path, {"images": images.contiguous(), "labels": test_y[:HELDOUT].clone(),
                                       "logits": logits.float()}, {
        "source": f"Fashion-MNIST t10k images 0..{HELDOUT - 1} (test set, never trained on); "
                  "Zalando SE 2017, MIT/Expat licence",
        "labels": json.dumps(LABELS), "model": "attnscope-vit-fashion",
        "logits": "attnscope-vit-fashion's logits (tools/reference/vit.py, float32) on each image "
                  "replicated to RGB and put through preprocessor_config.json",
        "accuracy": f"{acc:.4f}"})
    tc.log(f"wrote {path} ({size:,} bytes): held-out slice accuracy {acc:.4f} ({HELDOUT} images)")
    return acc


def check_folder(out, cli):
    """Reloads the folder with the reference loader; runs every example through Hugging Face's
    preprocessing of the PNG (Pillow decode), the reference forward and the batched one, and
    with `cli` through `attnscope predict --json`. Returns True when all agree."""
    ref_model = tc.reload(out, vit)
    with open(out / "preprocessor_config.json", encoding="utf-8") as f:
        proc = json.load(f)
    with open(out / "attnscope.json", encoding="utf-8") as f:
        examples = json.load(f)["examples"]
    worst_batched, worst_cli, ok = 0.0, 0.0, True
    for rel in examples:
        px = torch.from_numpy(image_processing.preprocess(image_processing.load_rgb(out / rel), proc))
        with torch.no_grad():
            logits = ref_model(px).logits
            worst_batched = max(worst_batched, (forward(ref_model, px[None])[0] - logits).abs().max().item())
        probs = logits.softmax(-1)
        top = int(probs.argmax())
        expected = LABELS[top]
        line = f"  {rel}: {expected} {probs[top]:.4f}"
        if slug(expected) != Path(rel).stem:
            line += "  WRONG CLASS"
            ok = False
        if cli:
            run = subprocess.run([str(cli), "predict", "--model", str(out), "--image", str(out / rel), "--json",
                                  "--top", str(len(LABELS))], capture_output=True, text=True, check=True)
            preds = json.loads(run.stdout)["predictions"]
            diff = max(abs(p["prob"] - probs[p["id"]].item()) for p in preds)
            worst_cli = max(worst_cli, diff)
            line += f"; attnscope: {preds[0]['label']} {preds[0]['prob']:.4f}, max |dp| {diff:.1e}"
            ok &= preds[0]["id"] == top and len(preds) == len(LABELS)
        tc.log(line)
    tc.log(f"reload check: max |logit difference| batched vs reference = {worst_batched:.2e}")
    ok &= worst_batched <= 1e-4
    if cli:
        tc.log(f"attnscope vs PyTorch: max |probability difference| = {worst_cli:.2e}")
        ok &= worst_cli <= 1e-4
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--fixture", type=Path, default=FIXTURE)
    parser.add_argument("--cli", type=Path, help="an attnscope binary to compare predictions with")
    parser.add_argument("--check-only", action="store_true", help="only check an already saved --out folder")
    args = parser.parse_args()
    tc.setup(SEED)
    out = args.out
    if args.check_only:
        return 0 if check_folder(out, args.cli) else 1

    train_x, train_y = load_split("train")
    test_x, test_y = load_split("t10k")
    scaled = train_x.double() / 255
    tc.log(f"Fashion-MNIST: {len(train_x):,} training and {len(test_x):,} test images; training pixels "
           f"mean {scaled.mean():.4f} std {scaled.std():.4f} (using {PIXEL_MEAN}, {PIXEL_STD})")

    cfg = model_config()
    model = vit.ViTForImageClassification(cfg)
    init_weights(model)
    n_params = sum(p.numel() for p in model.parameters())
    tc.log(f"ViT: image {IMAGE}, patch {PATCH} ({(IMAGE // PATCH) ** 2} patches + [CLS]), hidden {HIDDEN}, "
           f"{LAYERS} layers, {HEADS} heads, FFN {FFN}: {n_params:,} parameters")
    epochs, acc, minutes, timed_out = train(model, train_x, train_y, test_x, test_y)
    tc.log(f"trained {epochs} epochs in {minutes:.1f} min; test accuracy {acc:.4f} on {len(test_x):,} images"
           + (" (stopped by TIME_LIMIT)" if timed_out else ""))

    model.eval()
    size = tc.save_model(out, model, cfg)
    tc.write_json(out / "preprocessor_config.json", processor_config())
    tc.write_json(out / "attnscope.json", {"examples": save_examples(out, model, test_x, test_y)})
    tc.log(f"saved {out} (model.safetensors {size:,} bytes)")
    tc.report_sizes(out)
    save_fixture(args.fixture, tc.reload(out, vit), test_x, test_y)

    if acc < 0.85:
        tc.log("test accuracy is below 85%")
        return 1
    return 0 if check_folder(out, args.cli) else 1


if __name__ == "__main__":
    sys.exit(main())
