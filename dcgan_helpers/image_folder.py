"""A folder of your own images (PNG, JPEG, ...) as a uint8 array, skipping files that are not usable.

Corrupt, empty and non-image files are skipped and counted in one log line; if
nothing usable is left the folder is refused. All images are converted to one
colour mode (grayscale or RGB, the majority unless `channels` says) and resized
with padding to a square `size`, so a GAN can train on them.
"""

from __future__ import annotations

import logging
import os
from collections import Counter

import numpy as np

from .errors import DataError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def list_images(folder: str) -> list[str]:
    """Image files below `folder` (recursively), sorted; a clear error if the folder is absent."""
    if not os.path.exists(folder):
        raise DataError(f"image folder not found: {folder}")
    if not os.path.isdir(folder):
        raise DataError(f"{folder}: expected a folder of images, found a file")
    paths = []
    for root, _, files in os.walk(folder):
        paths += [os.path.join(root, f) for f in files if not f.startswith(".")]
    return sorted(paths)


def _open(path: str):
    from PIL import Image, UnidentifiedImageError

    if os.path.getsize(path) == 0:
        return None, "empty"
    if not path.lower().endswith(IMAGE_EXTENSIONS):
        return None, "not an image"
    try:
        with Image.open(path) as img:
            img.load()
            return img.copy(), None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None, "corrupt"


def load_image_folder(folder: str, size: int = 64, channels: int | None = None,
                      limit: int | None = None) -> np.ndarray:
    """Images of `folder` as uint8 (N, size, size, C); C is `channels` or the folder's majority."""
    from PIL import Image

    images, skipped = [], Counter()
    for path in list_images(folder):
        img, problem = _open(path)
        if problem:
            skipped[problem] += 1
            continue
        images.append(img)
        if limit is not None and len(images) >= limit:
            break
    if skipped:
        log.warning("%s: skipped %d unusable files (%s)", folder, sum(skipped.values()),
                    ", ".join(f"{n} {kind}" for kind, n in sorted(skipped.items())))
    if not images:
        raise DataError(f"{folder}: no usable images (need {', '.join(IMAGE_EXTENSIONS)} files); "
                        f"skipped {sum(skipped.values())} unusable files")
    if channels is None:
        gray = sum(img.mode in ("L", "LA", "1", "I", "I;16") for img in images)
        channels = 1 if gray * 2 > len(images) else 3
    if channels not in (1, 3):
        raise DataError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels}")
    mode = "L" if channels == 1 else "RGB"
    out = np.zeros((len(images), size, size, channels), dtype=np.uint8)
    for i, img in enumerate(images):
        img = img.convert(mode)
        scale = size / max(img.width, img.height)
        w, h = max(1, round(img.width * scale)), max(1, round(img.height * scale))
        img = img.resize((w, h), Image.BILINEAR)
        arr = np.asarray(img).reshape(h, w, channels)
        top, left = (size - h) // 2, (size - w) // 2
        out[i, top:top + h, left:left + w] = arr
    log.info("loaded %d images from %s as %dx%dx%d", len(out), folder, size, size, channels)
    return out
