"""CelebA for the 64x64 DCGAN: the official folder converted once to a TFRecord, then streamed.

CelebA comes as a folder laid out like this (only what is used here)::

    <celeba_dir>/img_align_celeba/000001.jpg ...   aligned and cropped faces, 178x218
    <celeba_dir>/img_celeba/000001.jpg ...         the original "in the wild" photos
    <celeba_dir>/list_bbox_celeba.txt              face boxes in img_celeba coordinates
    <celeba_dir>/list_eval_partition.txt           "000001.jpg 0": 0 train, 1 val, 2 test

(some mirrors put the text files in an `Anno/` or `Eval/` subfolder; both are found).

202,599 JPEGs are too many to decode on every epoch and too big to hold as float32
(202,599 x 64 x 64 x 3 x 4 bytes = 9.9 GB). `convert_to_tfrecord` therefore crops and
resizes every image to 64x64 ONCE and stores it re-encoded (JPEG, about 2-3 KB each, so
the whole set is about 0.5 GB on disk). `celeba_dataset` streams that file:

    TFRecordDataset -> shuffle(bounded buffer of *encoded* records) -> parse -> decode
    -> float32 in [-1, 1] -> batch(drop_remainder=True) -> prefetch

Memory stays bounded whatever the size of the file: there is no `cache()`, the shuffle
buffer holds at most `shuffle_buffer` encoded records (10,000 x ~3 KB = ~30 MB), and only
the few batches in flight are decoded (128 x 64 x 64 x 3 x 4 bytes = 6 MB each). To make
a bounded buffer shuffle well, the conversion writes the images in a seeded random
order, so neighbouring records are unrelated to begin with.

Measured on a synthetic TFRecord of 202,599 64x64 JPEG records (490 MB): streaming one
epoch in batches of 128 peaked at 0.84 GB resident memory, TensorFlow included; training
`paper64` (64x64x3, batch 128) from it peaked at 2.3 GB, within a 4 GB budget.

    info = convert_to_tfrecord("/data/celeba", "data/celeba_train_64.tfrecord")
    dataset_fn, steps = celeba_training_data(info.path, batch_size=128, seed=0)
    train(TrainConfig(model="paper64", dataset="celeba", image_shape=(64, 64, 3)), "runs/celeba",
          dataset_fn=dataset_fn, steps_per_epoch=steps)
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from .atomic import atomic_path, write_text
from .errors import ConfigError, DataError

log = logging.getLogger(__name__)

IMAGE_TYPES = ("img_align_celeba", "img_celeba")
PARTITIONS = {"train": 0, "val": 1, "test": 2}
PARTITION_NAMES = (*PARTITIONS, "all")
BBOX_FILE = "list_bbox_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
ENCODINGS = ("jpeg", "png")
FORMAT_VERSION = 1
DEFAULT_SHUFFLE_BUFFER = 10_000


# --------------------------------------------------------------------------- text files

def find_celeba_file(celeba_dir: str, name: str) -> str:
    """Path of one of CelebA's text files: in `celeba_dir` itself, or its `Anno/` or `Eval/`."""
    for sub in ("", "Anno", "Eval", "anno", "eval"):
        path = os.path.join(celeba_dir, sub, name)
        if os.path.isfile(path):
            return path
    raise DataError(f"{celeba_dir}: no {name} (looked in the folder and its Anno/ and Eval/ "
                    f"subfolders); it comes with CelebA's annotations")


def _data_lines(path: str):
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                yield number, line.split()
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not a text file ({e})") from e


def read_partitions(path: str) -> dict[str, int]:
    """`list_eval_partition.txt` as {image id: 0 train | 1 val | 2 test}.

    Each line is `000001.jpg 0`; blank lines are ignored. A malformed line is a
    DataError naming the file and the line number.
    """
    if not os.path.isfile(path):
        raise DataError(f"partition file not found: {path}")
    parts: dict[str, int] = {}
    for number, fields in _data_lines(path):
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
            raise DataError(f"{path}, line {number}: expected '<image>.jpg <0|1|2>' "
                            f"(0 train, 1 val, 2 test), got {' '.join(fields)!r}")
        if fields[0] in parts:
            raise DataError(f"{path}, line {number}: {fields[0]} is listed twice")
        parts[fields[0]] = int(fields[1])
    if not parts:
        raise DataError(f"{path}: no images listed")
    return parts


def read_bboxes(path: str) -> dict[str, tuple[int, int, int, int]]:
    """`list_bbox_celeba.txt` as {image id: (x_1, y_1, width, height)} in img_celeba pixels.

    Line 1 is the number of images, line 2 the column names `image_id x_1 y_1 width
    height`, then one row per image. The count must match the rows; a malformed line is
    a DataError naming the file and the line number.
    """
    if not os.path.isfile(path):
        raise DataError(f"bounding-box file not found: {path}")
    boxes: dict[str, tuple[int, int, int, int]] = {}
    expected = None
    for number, fields in _data_lines(path):
        if number == 1:
            if len(fields) != 1 or not fields[0].isdigit():
                raise DataError(f"{path}, line 1: expected the number of images, "
                                f"got {' '.join(fields)!r}")
            expected = int(fields[0])
            continue
        if number == 2:
            if fields[-4:] != ["x_1", "y_1", "width", "height"]:
                raise DataError(f"{path}, line 2: expected the column names "
                                f"'image_id x_1 y_1 width height', got {' '.join(fields)!r}")
            continue
        if not fields:
            continue
        try:
            if len(fields) != 5:
                raise ValueError
            x, y, w, h = (int(v) for v in fields[1:])
        except ValueError:
            raise DataError(f"{path}, line {number}: expected '<image>.jpg x_1 y_1 width height' "
                            f"(integers), got {' '.join(fields)!r}") from None
        if w <= 0 or h <= 0 or x < 0 or y < 0:
            raise DataError(f"{path}, line {number}: box of {fields[0]} must have x_1, y_1 >= 0 "
                            f"and a positive width and height, got {' '.join(fields[1:])}")
        if fields[0] in boxes:
            raise DataError(f"{path}, line {number}: {fields[0]} is listed twice")
        boxes[fields[0]] = (x, y, w, h)
    if expected is None:
        raise DataError(f"{path}: empty file; expected a count, column names and one box per image")
    if expected != len(boxes):
        raise DataError(f"{path}: line 1 says {expected} images but {len(boxes)} boxes follow "
                        f"(truncated file?)")
    return boxes


def partition_ids(celeba_dir: str, partition: str = "train") -> list[str]:
    """Sorted image ids of `partition` ("train", "val", "test" or "all")."""
    if partition not in PARTITION_NAMES:
        raise ConfigError(f"unknown partition {partition!r}; expected one of {', '.join(PARTITION_NAMES)}")
    parts = read_partitions(find_celeba_file(celeba_dir, PARTITION_FILE))
    if partition == "all":
        return sorted(parts)
    return sorted(k for k, v in parts.items() if v == PARTITIONS[partition])


# --------------------------------------------------------------------------- cropping

def crop_box(width: int, height: int,
             bbox: tuple[int, int, int, int] | None = None) -> tuple[int, int, int, int]:
    """The square (left, top, right, bottom) to cut from a `width` x `height` image.

    Without `bbox`: the largest centred square. With a face box (x, y, w, h): a square
    of side max(w, h) centred on the box, moved (not shrunk) to stay inside the image
    when it can, so faces keep their proportions when resized to 64x64.
    """
    if bbox is None:
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        return left, top, left + side, top + side
    x, y, w, h = bbox
    side = min(max(w, h), width, height)
    cx, cy = x + w / 2, y + h / 2
    left = int(round(min(max(cx - side / 2, 0), width - side)))
    top = int(round(min(max(cy - side / 2, 0), height - side)))
    return left, top, left + side, top + side


def load_face(path: str, size: int = 64, bbox: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """One CelebA image, square-cropped (around `bbox` if given), resized to size x size RGB uint8.

    Raises OSError (or a PIL error) when the file is missing or not a readable image.
    """
    from PIL import Image

    with Image.open(path) as img:
        img.load()
        img = img.convert("RGB")
    box = crop_box(img.width, img.height, bbox)
    img = img.resize((size, size), Image.LANCZOS, box=box)
    return np.asarray(img, dtype=np.uint8)


def encode_image(image: np.ndarray, encoding: str = "jpeg", quality: int = 95) -> bytes:
    """uint8 (H, W, 3) -> JPEG or PNG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    if encoding == "jpeg":
        Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    elif encoding == "png":
        Image.fromarray(image).save(buf, format="PNG")
    else:
        raise ConfigError(f"unknown encoding {encoding!r}; expected one of {', '.join(ENCODINGS)}")
    return buf.getvalue()


# --------------------------------------------------------------------------- conversion

@dataclass
class ConversionInfo:
    """What a conversion wrote; stored beside the TFRecord as `<file>.json`."""

    path: str
    count: int
    skipped: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    bytes: int = 0
    converted_now: bool = False

    @property
    def skipped_count(self) -> int:
        return sum(self.skipped.values())


def sidecar_path(tfrecord_path: str) -> str:
    return tfrecord_path + ".json"


def read_sidecar(tfrecord_path: str) -> dict | None:
    """The conversion record of a TFRecord, or None when there is none (or it is unreadable)."""
    try:
        with open(sidecar_path(tfrecord_path), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _is_complete(tfrecord_path: str, settings: dict) -> tuple[bool, dict | None]:
    meta = read_sidecar(tfrecord_path)
    if meta is None or not os.path.isfile(tfrecord_path):
        return False, meta
    same_size = os.path.getsize(tfrecord_path) == meta.get("bytes")
    return same_size and meta.get("settings") == settings, meta


def _example(image_bytes: bytes, image_id: str):
    import tensorflow as tf

    return tf.train.Example(features=tf.train.Features(feature={
        "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image_bytes])),
        "image_id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image_id.encode()])),
    })).SerializeToString()


def convert_to_tfrecord(celeba_dir: str, out_path: str, image_type: str = "img_align_celeba",
                        partition: str = "train", size: int = 64, bbox: bool = True, *,
                        encoding: str = "jpeg", quality: int = 95, limit: int | None = None,
                        order_seed: int = 0, overwrite: bool = False,
                        progress: bool = False) -> ConversionInfo:
    """Convert a CelebA partition to one TFRecord of size x size RGB images, once.

    `image_type` "img_align_celeba" is centre-cropped to a square; "img_celeba" is cropped
    to a square around the face box of `list_bbox_celeba.txt` when `bbox` (else centre-
    cropped; the boxes are in img_celeba coordinates, so `bbox` does nothing for the
    aligned images). Images are written in a random order fixed by `order_seed`, each as
    JPEG (or PNG) bytes with its id. Missing and unreadable images are skipped and counted.

    If `out_path` already holds a complete conversion with the same settings it is not
    touched (the conversion of all of CelebA takes minutes). A conversion with other
    settings is refused unless `overwrite`. The file is written under a temporary name and
    renamed when complete; `<out_path>.json` records the count, settings and file size, so
    an interrupted conversion leaves no file that looks finished (it is redone next time).
    """
    if image_type not in IMAGE_TYPES:
        raise ConfigError(f"unknown image type {image_type!r}; expected one of {', '.join(IMAGE_TYPES)}")
    if partition not in PARTITION_NAMES:
        raise ConfigError(f"unknown partition {partition!r}; expected one of {', '.join(PARTITION_NAMES)}")
    if encoding not in ENCODINGS:
        raise ConfigError(f"unknown encoding {encoding!r}; expected one of {', '.join(ENCODINGS)}")
    if size < 1:
        raise ConfigError(f"size must be at least 1 pixel, got {size}")
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be a positive number of images, got {limit}")
    use_bbox = bool(bbox) and image_type == "img_celeba"
    settings = {"version": FORMAT_VERSION, "image_type": image_type, "partition": partition,
                "size": size, "bbox": use_bbox, "encoding": encoding, "limit": limit,
                "order_seed": order_seed}
    if os.path.isdir(out_path):
        raise ConfigError(f"{out_path} is a folder; give a file name for the TFRecord")
    complete, meta = _is_complete(out_path, settings)
    if complete:
        log.info("%s already holds %d images (%s %s); not converting again",
                 out_path, meta["count"], image_type, partition)
        return ConversionInfo(out_path, meta["count"], meta.get("skipped", {}), settings,
                              meta["bytes"], converted_now=False)
    if os.path.isfile(out_path) and not overwrite and (meta is None or meta.get("settings") != settings):
        what = ("a file that this function did not write (no .json record)" if meta is None
                else f"a conversion with other settings ({meta.get('settings')})")
        raise ConfigError(f"{out_path} holds {what}; choose another file or pass overwrite=True")

    if not os.path.isdir(celeba_dir):
        raise DataError(f"CelebA folder not found: {celeba_dir}")
    image_dir = os.path.join(celeba_dir, image_type)
    if not os.path.isdir(image_dir):
        present = [t for t in IMAGE_TYPES if os.path.isdir(os.path.join(celeba_dir, t))]
        raise DataError(f"{celeba_dir}: no {image_type}/ folder of images"
                        + (f" (found {', '.join(present)}/; pass image_type=...)" if present
                           else "; expected CelebA's img_align_celeba/ or img_celeba/"))
    ids = partition_ids(celeba_dir, partition)
    boxes = read_bboxes(find_celeba_file(celeba_dir, BBOX_FILE)) if use_bbox else {}
    order = np.random.default_rng(order_seed).permutation(len(ids))
    ids = [ids[i] for i in order]

    import tensorflow as tf
    from PIL import UnidentifiedImageError

    skipped: Counter = Counter()
    count = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=limit or len(ids), desc=f"CelebA {partition} -> TFRecord", unit="img")
    with atomic_path(out_path) as tmp:
        with tf.io.TFRecordWriter(tmp) as writer:
            for image_id in ids:
                if limit is not None and count >= limit:
                    break
                path = os.path.join(image_dir, image_id)
                if use_bbox and image_id not in boxes:
                    skipped["no box"] += 1
                    continue
                if not os.path.isfile(path):
                    skipped["missing"] += 1
                    continue
                try:
                    face = load_face(path, size, boxes.get(image_id))
                except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
                    skipped["unreadable"] += 1
                    continue
                writer.write(_example(encode_image(face, encoding, quality), image_id))
                count += 1
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
        if count == 0:
            raise DataError(f"{image_dir}: none of the {len(ids)} {partition} images could be "
                            f"read ({_describe(skipped)})")
        # The record goes first: until the rename, it describes a file that is not there
        # (or has another size), so an interrupted conversion is never taken as complete.
        info = ConversionInfo(out_path, count, dict(skipped), settings, os.path.getsize(tmp),
                              converted_now=True)
        write_text(sidecar_path(out_path), json.dumps(
            {k: v for k, v in asdict(info).items() if k not in ("path", "converted_now")},
            indent=2, sort_keys=True) + "\n")
    nbytes = info.bytes
    if skipped:
        log.warning("%s: skipped %d images (%s)", image_dir, info.skipped_count, _describe(skipped))
    log.info("wrote %d %dx%d images to %s (%.1f MB)", count, size, size, out_path, nbytes / 1e6)
    return info


def _describe(skipped: Counter) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(skipped.items())) or "none skipped"


# --------------------------------------------------------------------------- reading

def _parse(record, size: int | None):
    import tensorflow as tf

    features = tf.io.parse_single_example(record, {
        "image": tf.io.FixedLenFeature([], tf.string),
        "image_id": tf.io.FixedLenFeature([], tf.string),
    })
    image = tf.io.decode_image(features["image"], channels=3, expand_animations=False)
    if size is not None:
        image = tf.ensure_shape(image, (size, size, 3))
    return (tf.cast(image, tf.float32) - 127.5) / 127.5


def celeba_dataset(tfrecord_path: str, batch_size: int, seed: int = 0, epoch: int = 0, *,
                   shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER, shuffle: bool = True,
                   drop_remainder: bool = True):
    """Stream a converted TFRecord as batches of float32 (batch, 64, 64, 3) images in [-1, 1].

    Nothing is cached: records are read from disk as needed, shuffled in a buffer of at
    most `shuffle_buffer` encoded records (a different order for each `epoch`), decoded,
    batched (`drop_remainder`, so every batch has the same shape) and prefetched.
    """
    import tensorflow as tf

    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    if shuffle_buffer < 1:
        raise ConfigError(f"shuffle_buffer must be at least 1, got {shuffle_buffer}")
    if not os.path.isfile(tfrecord_path):
        raise DataError(f"TFRecord not found: {tfrecord_path}; run convert_to_tfrecord first")
    meta = read_sidecar(tfrecord_path) or {}
    size = meta.get("settings", {}).get("size")
    ds = tf.data.TFRecordDataset(tfrecord_path, buffer_size=4 << 20)
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed * 100_003 + epoch, reshuffle_each_iteration=False)
    ds = ds.map(lambda r: _parse(r, size), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.prefetch(tf.data.AUTOTUNE)


def count_records(tfrecord_path: str) -> int:
    """Images in a converted TFRecord: from its `.json` record, else by reading it once."""
    meta = read_sidecar(tfrecord_path)
    if meta is not None and os.path.isfile(tfrecord_path) \
            and os.path.getsize(tfrecord_path) == meta.get("bytes"):
        return int(meta["count"])
    import tensorflow as tf

    if not os.path.isfile(tfrecord_path):
        raise DataError(f"TFRecord not found: {tfrecord_path}; run convert_to_tfrecord first")
    try:
        return int(tf.data.TFRecordDataset(tfrecord_path).reduce(0, lambda n, _: n + 1))
    except tf.errors.DataLossError as e:
        raise DataError(f"{tfrecord_path}: truncated or corrupt TFRecord ({e.message})") from e


def celeba_training_data(tfrecord_path: str, batch_size: int, seed: int = 0, *,
                         shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER
                         ) -> tuple[Callable[[int], "object"], int]:
    """(dataset_fn, steps_per_epoch) for `run.train(..., dataset_fn=..., steps_per_epoch=...)`."""
    n = count_records(tfrecord_path)
    steps = n // batch_size if batch_size > 0 else 0
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    if steps == 0:
        raise ConfigError(f"{tfrecord_path} holds {n} images, fewer than one batch of {batch_size}; "
                          f"lower the batch size")

    def dataset_fn(epoch: int):
        return celeba_dataset(tfrecord_path, batch_size, seed, epoch, shuffle_buffer=shuffle_buffer)

    return dataset_fn, steps


def has_celeba(celeba_dir: str | None, image_type: str = "img_align_celeba") -> bool:
    """True when `celeba_dir` looks like a CelebA folder with `image_type` images (for notebooks)."""
    return bool(celeba_dir) and os.path.isdir(os.path.join(celeba_dir, image_type))
