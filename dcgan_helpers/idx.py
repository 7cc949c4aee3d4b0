"""Read IDX files (the MNIST file format), gzipped or not, with errors that name the file.

The format is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the raw data.
See http://yann.lecun.com/exdb/mnist/ for the specification.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib

import numpy as np

from .errors import DataError

IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions: count, rows, columns
LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension: count


# Far above MNIST's 47 MB: a header claiming more is corrupt, and is refused before reading.
MAX_DATA_BYTES = 1 << 31


def read_idx(path: str, expected_magic: int) -> np.ndarray:
    """Return the array stored in an IDX file, checking the magic number and the size.

    The header is read first, so a corrupt one cannot make the reader decompress (or
    allocate) more than the size it states, and never more than MAX_DATA_BYTES.
    """
    if not os.path.isfile(path):
        raise DataError(f"{path}: file not found")
    try:
        with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
            head = f.read(4)
            if len(head) < 4:
                raise DataError(f"{path}: only {len(head)} bytes, too short for an IDX header")
            (magic,) = struct.unpack(">I", head)
            if magic != expected_magic:
                kind = "image" if expected_magic == IMAGES_MAGIC else "label"
                raise DataError(
                    f"{path}: bad magic number 0x{magic:08x}, expected 0x{expected_magic:08x} "
                    f"for an IDX {kind} file")
            ndim = magic & 0xFF
            dims_raw = f.read(4 * ndim)
            if len(dims_raw) < 4 * ndim:
                raise DataError(f"{path}: truncated header ({4 + len(dims_raw)} bytes, "
                                f"expected {4 + 4 * ndim})")
            dims = struct.unpack(">" + "I" * ndim, dims_raw)
            expected = math.prod(dims)
            if expected > MAX_DATA_BYTES:
                raise DataError(f"{path}: header says shape {tuple(dims)} ({expected:,} bytes), "
                                f"far more than an IDX file of images holds; the file is corrupt")
            data = f.read(expected + 1)
    except (EOFError, OSError, zlib.error) as e:
        raise DataError(f"{path}: truncated or corrupt gzip file ({e}); download it again") from e
    if len(data) != expected:
        holds = f"{len(data)}" if len(data) < expected else "more"
        raise DataError(
            f"{path}: header says shape {tuple(dims)} ({expected} bytes of data) "
            f"but the file holds {holds}; the file is truncated or corrupt"
        )
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def find_idx(folder: str, stem: str) -> str | None:
    """Path of `stem` or `stem.gz` inside folder (also accepting MNIST's dotted variant), or None."""
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def load_idx_pair(images_path: str, labels_path: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 and labels (N,) uint8 from two IDX files that must agree in count."""
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds "
            f"{len(labels)} labels; the two files must come from the same split"
        )
    return images, labels
