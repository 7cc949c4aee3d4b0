"""The official MNIST and Fashion-MNIST files, known by their published MD5 checksums.

Both datasets use the same four file names, so a folder can hand one for the other in
silence; their checksums tell them apart. `GZIP_MD5` are the checksums of the
published `.gz` files (the ones torchvision checks its downloads against);
`IDX_MD5` those of the same files uncompressed, which also identify a re-compressed
copy (Debian's `dataset-fashion-mnist`) and the arrays of an `.npz`.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import numpy as np

DISPLAY_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}

GZIP_MD5 = {
    "f68b3c2dcbeaaa9fbdd348bbdeb94873": ("mnist", "train-images-idx3-ubyte"),
    "d53e105ee54ea40749a09fcbcd1e9432": ("mnist", "train-labels-idx1-ubyte"),
    "9fb629c4189551a2d022fa330f9573f3": ("mnist", "t10k-images-idx3-ubyte"),
    "ec29112dd5afa0611ce80d1b7f02629c": ("mnist", "t10k-labels-idx1-ubyte"),
    "8d4fb7e6c68d591d4c3dfef9ec88bf0d": ("fashion_mnist", "train-images-idx3-ubyte"),
    "25c81989df183df01b3e8a0aad5dffbe": ("fashion_mnist", "train-labels-idx1-ubyte"),
    "bef4ecab320f06d8554ea6380940ec79": ("fashion_mnist", "t10k-images-idx3-ubyte"),
    "bb300cfdad3c16e7a12a480ee83cd310": ("fashion_mnist", "t10k-labels-idx1-ubyte"),
}

IDX_MD5 = {
    "6bbc9ace898e44ae57da46a324031adb": ("mnist", "train-images-idx3-ubyte"),
    "a25bea736e30d166cdddb491f175f624": ("mnist", "train-labels-idx1-ubyte"),
    "2646ac647ad5339dbf082846283269ea": ("mnist", "t10k-images-idx3-ubyte"),
    "27ae3e4e09519cfbb04c329615203637": ("mnist", "t10k-labels-idx1-ubyte"),
    "f4a8712d7a061bf5bd6d2ca38dc4d50a": ("fashion_mnist", "train-images-idx3-ubyte"),
    "9018921c3c673c538a1fc5bad174d6f9": ("fashion_mnist", "train-labels-idx1-ubyte"),
    "8181f5470baa50b63fa0f6fddb340f0a": ("fashion_mnist", "t10k-images-idx3-ubyte"),
    "15d484375f8d13e6eb1aabb0c3f46965": ("fashion_mnist", "t10k-labels-idx1-ubyte"),
}


@dataclass(frozen=True)
class DataFile:
    """One file a run read: its name, MD5, and which official file it is (None if unknown)."""

    name: str
    md5: str
    dataset: str | None = None  # "mnist" or "fashion_mnist" when it is an official file
    official: str | None = None  # e.g. "t10k-images-idx3-ubyte"

    def describe(self) -> str:
        if self.dataset is None:
            return f"{self.name} (not an official MNIST or Fashion-MNIST file)"
        return f"{self.name} ({DISPLAY_NAMES[self.dataset]}'s {self.official})"

    def to_dict(self) -> dict:
        record = {"name": self.name, "md5": self.md5}
        if self.dataset:
            record["official"] = f"{DISPLAY_NAMES[self.dataset]} {self.official}"
        return record


def file_md5(path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def idx_md5(array: np.ndarray) -> str:
    """MD5 of `array` (uint8) written as an uncompressed IDX file."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    digest = hashlib.md5(struct.pack(">I", 0x0800 | array.ndim), usedforsecurity=False)
    digest.update(struct.pack(">" + "I" * array.ndim, *array.shape))
    digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def identify(name: str, md5: str, arrays: tuple[np.ndarray, ...] = ()) -> DataFile:
    """Which official file this is: by the file's own MD5, else by the content of `arrays`."""
    known = GZIP_MD5.get(md5) or IDX_MD5.get(md5)
    for array in arrays:
        known = known or IDX_MD5.get(idx_md5(array))
    return DataFile(name, md5, *(known or (None, None)))
