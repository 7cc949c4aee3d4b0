"""Read IDX files (the MNIST file format), gzipped or not, with errors that name the file.

The format is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the raw data.
See http://yann.lecun.com/exdb/mnist/ for the specification.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib

import numpy as np

from .errors import DataError

IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions: count, rows, columns
LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension: count


def _read_bytes(path: str) -> bytes:
    if not os.path.isfile(path):
        raise DataError(f"{path}: file not found")
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (EOFError, OSError, zlib.error) as e:
        raise DataError(f"{path}: truncated or corrupt gzip file ({e}); download it again") from e


def read_idx(path: str, expected_magic: int) -> np.ndarray:
    """Return the array stored in an IDX file, checking the magic number and the size."""
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise DataError(f"{path}: only {len(raw)} bytes, too short for an IDX header")
    (magic,) = struct.unpack(">I", raw[:4])
    if magic != expected_magic:
        kind = "image" if expected_magic == IMAGES_MAGIC else "label"
        raise DataError(
            f"{path}: bad magic number 0x{magic:08x}, expected 0x{expected_magic:08x} "
            f"for an IDX {kind} file"
        )
    ndim = magic & 0xFF
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(f"{path}: truncated header ({len(raw)} bytes, expected {header_size})")
    dims = struct.unpack(">" + "I" * ndim, raw[4:header_size])
    expected = int(np.prod(dims))
    actual = len(raw) - header_size
    if actual != expected:
        raise DataError(
            f"{path}: header says shape {tuple(dims)} ({expected} bytes of data) "
            f"but the file holds {actual}; the file is truncated or corrupt"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(dims)


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
