"""Reference image preprocessing: Hugging Face's ViTImageProcessor / DeiTImageProcessor.

Transcribed from transformers' image_processing_vit.py, image_processing_deit.py and the
helpers they call (image_transforms.resize / center_crop / rescale / normalize,
image_processing_utils.get_size_dict, image_transforms.get_resize_output_image_size), with
Pillow doing the resizing exactly as there: numpy uint8 (H, W, 3) -> PIL.Image.fromarray ->
Image.resize((width, height), resample, reducing_gap=None) -> numpy. Returns what
pixel_values[0] would hold: float32 (3, H, W).
"""
import math

import numpy as np
from PIL import Image

VIT_DEFAULTS = {"do_resize": True, "size": {"height": 224, "width": 224}, "resample": 2,
                "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
                "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
DEIT_DEFAULTS = {"do_resize": True, "size": {"height": 256, "width": 256}, "resample": 3,
                 "do_center_crop": True, "crop_size": {"height": 224, "width": 224},
                 "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
                 "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}


def load_rgb(path):
    """A file's pixels as uint8 (H, W, 3), through Pillow's convert("RGB")."""
    with Image.open(path) as im:
        return np.array(im.convert("RGB"))


def size_dict(size):
    """get_size_dict(size, default_to_square=True)."""
    if isinstance(size, int):
        return {"height": size, "width": size}
    if isinstance(size, (list, tuple)):
        return {"height": size[0], "width": size[1]}
    return dict(size)


def output_size(height, width, size):
    """(height, width) after resizing: a fixed size, or get_resize_output_image_size with
    default_to_square=False for {"shortest_edge"[, "longest_edge"]}."""
    if "height" in size:
        return size["height"], size["width"]
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size["shortest_edge"], int(size["shortest_edge"] * long / short)
    max_size = size.get("longest_edge")
    if max_size is not None and new_long > max_size:
        new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if width <= height else (new_short, new_long)


def resize(image, height, width, resample):
    """image_transforms.resize on uint8 (H, W, 3): through Pillow and back."""
    return np.array(Image.fromarray(image).resize((width, height), resample=resample, reducing_gap=None))


def center_crop(image, height, width):
    """image_transforms.center_crop on (H, W, C), zero padding when the crop is larger."""
    orig_h, orig_w = image.shape[:2]
    top, left = (orig_h - height) // 2, (orig_w - width) // 2
    bottom, right = top + height, left + width
    if top >= 0 and bottom <= orig_h and left >= 0 and right <= orig_w:
        return image[top:bottom, left:right]
    new_h, new_w = max(height, orig_h), max(width, orig_w)
    padded = np.zeros((new_h, new_w) + image.shape[2:], dtype=image.dtype)
    top_pad, left_pad = math.ceil((new_h - orig_h) / 2), math.ceil((new_w - orig_w) / 2)
    padded[top_pad:top_pad + orig_h, left_pad:left_pad + orig_w] = image
    top, bottom, left, right = top + top_pad, bottom + top_pad, left + left_pad, right + left_pad
    return padded[max(0, top):min(new_h, bottom), max(0, left):min(new_w, right)]


def rescale(image, scale):
    """image_transforms.rescale: float64 multiply, then float32."""
    return (image.astype(np.float64) * scale).astype(np.float32)


def normalize(image, mean, std):
    """image_transforms.normalize on channels-last float32."""
    if not np.issubdtype(image.dtype, np.floating):
        image = image.astype(np.float32)
    mean = np.array(mean, dtype=image.dtype)
    std = np.array(std, dtype=image.dtype)
    return (image - mean) / std


def preprocess(image, config, defaults=None):
    """The processor's preprocess() on one uint8 (H, W, 3) image: float32 (3, H, W)."""
    cfg = dict(VIT_DEFAULTS if defaults is None else defaults)
    cfg.update(config)
    if cfg.get("do_resize", True):
        h, w = output_size(image.shape[0], image.shape[1], size_dict(cfg["size"]))
        image = resize(image, h, w, cfg.get("resample", 2))
    if cfg.get("do_center_crop", False):
        crop = size_dict(cfg["crop_size"])
        image = center_crop(image, crop["height"], crop["width"])
    if cfg.get("do_rescale", True):
        image = rescale(image, cfg.get("rescale_factor", 1 / 255))
    if cfg.get("do_normalize", True):
        image = normalize(image, cfg["image_mean"], cfg["image_std"])
    return np.ascontiguousarray(image.astype(np.float32).transpose(2, 0, 1))
