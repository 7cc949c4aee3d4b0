"""A folder of your own images (PNG, JPEG, ...) as a uint8 array, skipping files that are not usable.

Corrupt, empty and non-image files are skipped and counted in one log line; if
nothing usable is left the folder is refused. All images are converted to one
colour mode (grayscale or RGB, the majority unless `channels` says) and resized
with padding to a square `size`, so a GAN can train on them.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections import Counter

import numpy as np

from .errors import DataError
from .paths import display_path

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


def _max_pixels() -> int:
    from PIL import Image

    return int(Image.MAX_IMAGE_PIXELS or 89_478_485)


def _probe(path: str) -> tuple[str | None, str | None]:
    """(colour mode, None) for a usable picture, else (None, what is wrong), reading only its header.

    Pictures over Pillow's decompression-bomb limit (about 89 megapixels) are refused
    before they are decoded.
    """
    from PIL import Image, UnidentifiedImageError

    if os.path.getsize(path) == 0:
        return None, "empty"
    if not path.lower().endswith(IMAGE_EXTENSIONS):
        return None, "not an image"
    try:
        with Image.open(path) as img:
            if img.width * img.height > _max_pixels():
                return None, "too large to decode safely"
            return img.mode, None
    except Image.DecompressionBombError:
        return None, "too large to decode safely"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None, "corrupt"


def _decode(path: str, mode: str, size: int) -> np.ndarray | None:
    """The picture converted to `mode` and fitted into size x size (uint8 H x W x C); None if damaged."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.draft(mode, (size, size))  # JPEG: decode at a reduced scale, much faster
                img = img.convert(mode)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        return None
    scale = size / max(img.width, img.height)
    w, h = max(1, round(img.width * scale)), max(1, round(img.height * scale))
    img = img.resize((w, h), Image.BILINEAR)
    return np.asarray(img).reshape(h, w, -1)


def load_image_folder(folder: str, size: int = 64, channels: int | None = None,
                      limit: int | None = None) -> np.ndarray:
    """Images of `folder` as uint8 (N, size, size, C); C is `channels` or the folder's majority.

    Each picture is decoded and shrunk one at a time, so a folder of large photos needs
    memory only for the small copies.
    """
    usable, skipped = [], {}
    for path in list_images(folder):
        mode, problem = _probe(path)
        if problem:
            skipped[path] = problem
            continue
        usable.append((path, mode))
        if limit is not None and len(usable) >= limit:
            break
    if channels is None:
        gray = sum(mode in ("L", "LA", "1", "I", "I;16") for _, mode in usable)
        channels = 1 if gray * 2 > len(usable) else 3
    if channels not in (1, 3):
        raise DataError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels}")
    mode = "L" if channels == 1 else "RGB"
    out = np.zeros((len(usable), size, size, channels), dtype=np.uint8)
    n = 0
    for path, _ in usable:
        arr = _decode(path, mode, size)
        if arr is None:
            skipped[path] = "corrupt"
            continue
        h, w = arr.shape[:2]
        top, left = (size - h) // 2, (size - w) // 2
        out[n, top:top + h, left:left + w] = arr
        n += 1
    if skipped:
        counts = Counter(skipped.values())
        examples = ", ".join(f"{os.path.relpath(p, folder)} ({why})" for p, why in list(skipped.items())[:3])
        log.warning("%s: skipped %d unusable files (%s): %s%s", display_path(folder), len(skipped),
                    ", ".join(f"{k} {kind}" for kind, k in sorted(counts.items())), examples,
                    ", ..." if len(skipped) > 3 else "")
    if n == 0:
        raise DataError(f"{folder}: no usable images (need {', '.join(IMAGE_EXTENSIONS)} files); "
                        f"skipped {len(skipped)} unusable files")
    log.info("loaded %d images from %s as %dx%dx%d", n, display_path(folder), size, size, channels)
    return out[:n]
