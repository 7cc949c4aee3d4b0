"""Data loading: every source users point at, and a clear error for every bad input."""

import logging
import os

import numpy as np
import pytest

from dcgan_helpers import data_folder
from dcgan_helpers.datasets import load_images
from dcgan_helpers.errors import DataError
from conftest import write_idx


def test_real_mnist_test_split_is_used_with_a_log_line(mnist_test_split_dir, caplog):
    with caplog.at_level(logging.WARNING):
        x, y = load_images("mnist", data_dir=mnist_test_split_dir)
    assert x.shape == (10000, 28, 28, 1) and x.dtype == np.uint8
    assert y.shape == (10000,) and set(np.unique(y)) == set(range(10))
    assert "test split" in caplog.text and "t10k-images" in caplog.text


def test_the_train_split_of_a_learners_folder_is_used_when_it_has_one(mnist_dir, caplog):
    """Whatever `mnist_dir` holds: its train split when complete, else its test split with
    a log line; the same images as asked for by split."""
    from dcgan_helpers.evaluation.data import load_splits

    splits = load_splits(mnist_dir)
    has_train = "train" in splits
    with caplog.at_level(logging.WARNING):
        x, y = load_images("mnist", data_dir=mnist_dir)
    assert ("test split" in caplog.text) != has_train
    x_split, y_split = splits["train" if has_train else "test"]
    assert np.array_equal(x, x_split) and np.array_equal(y, y_split)
    assert x.shape[1:] == (28, 28, 1) and len(x) == len(y) and set(np.unique(y)) == set(range(10))


def test_env_var_and_limit(mnist_dir, monkeypatch):
    monkeypatch.setenv("DCGAN_DATA_DIR", mnist_dir)
    x, y = load_images("mnist", limit=100)
    assert x.shape == (100, 28, 28, 1) and len(y) == 100


@pytest.mark.parametrize("gz", [True, False])
def test_train_split_preferred_gzipped_or_not(idx_folder, gz):
    folder = idx_folder("train", n=40, gz=gz)
    idx_folder("t10k", n=12, gz=gz, folder=folder)
    x, _ = load_images("mnist", data_dir=folder)
    assert x.shape == (40, 28, 28, 1)
    x, _ = load_images("mnist", data_dir=folder, split="test")
    assert x.shape == (12, 28, 28, 1)


def test_npz(tmp_path):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "mnist.npz", x_train=rng.integers(0, 255, (20, 28, 28), dtype=np.uint8),
             y_train=np.arange(20) % 10, x_test=np.zeros((5, 28, 28), np.uint8), y_test=np.zeros(5))
    x, y = load_images("mnist", data_dir=str(tmp_path))
    assert x.shape == (20, 28, 28, 1) and list(y[:3]) == [0, 1, 2]


def test_fashion_found_in_debian_folder(idx_folder, monkeypatch):
    folder = idx_folder("train", n=16)
    monkeypatch.delenv("DCGAN_DATA_DIR", raising=False)
    monkeypatch.setitem(data_folder.DEBIAN_FOLDERS, "fashion_mnist", folder)
    x, _ = load_images("fashion_mnist")
    assert x.shape == (16, 28, 28, 1)


def test_env_var_subfolder_per_dataset(idx_folder, tmp_path, monkeypatch):
    idx_folder("train", n=8, folder=tmp_path / "root" / "fashion_mnist")
    idx_folder("train", n=9, folder=tmp_path / "root" / "mnist")
    monkeypatch.setenv("DCGAN_DATA_DIR", str(tmp_path / "root"))
    assert len(load_images("fashion_mnist")[0]) == 8
    assert len(load_images("mnist")[0]) == 9


def test_digits_look_like_mnist():
    x, y = load_images("digits")
    assert x.shape == (1797, 28, 28, 1) and x.dtype == np.uint8
    assert x[:, :4].max() == 0 and x[:, 24:].max() == 0  # MNIST-style empty border
    assert x.max() > 200 and set(np.unique(y)) == set(range(10))


def test_missing_folder():
    with pytest.raises(DataError, match="data folder not found: /no/such/folder"):
        load_images("mnist", data_dir="/no/such/folder")


def test_folder_without_idx_files(tmp_path):
    (tmp_path / "readme.txt").write_text("hello")
    with pytest.raises(DataError, match=r"no IDX files in .*train-images-idx3-ubyte"):
        load_images("mnist", data_dir=str(tmp_path))


def test_bad_magic_number(idx_folder):
    folder = idx_folder("train", n=4, gz=False)
    write_idx(os.path.join(folder, "train-images-idx3-ubyte"), np.zeros((4, 28, 28)), magic=0x0801)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: bad magic number 0x00000801, expected 0x00000803"):
        load_images("mnist", data_dir=folder)


def test_truncated_gzip(idx_folder, mnist_dir):
    folder = idx_folder("train", n=4)
    src = os.path.join(mnist_dir, "t10k-images-idx3-ubyte.gz")
    with open(src, "rb") as f:
        head = f.read(50_000)
    with open(os.path.join(folder, "train-images-idx3-ubyte.gz"), "wb") as f:
        f.write(head)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: truncated or corrupt gzip"):
        load_images("mnist", data_dir=folder)


def test_truncated_raw_file(idx_folder):
    folder = idx_folder("train", n=4, gz=False)
    path = os.path.join(folder, "train-images-idx3-ubyte")
    with open(path, "r+b") as f:
        f.truncate(16 + 28 * 28 * 2)
    with pytest.raises(DataError, match=r"header says shape \(4, 28, 28\).*truncated"):
        load_images("mnist", data_dir=folder)


def test_image_label_count_mismatch(idx_folder):
    folder = idx_folder("train", n=10)
    write_idx(os.path.join(folder, "train-labels-idx1-ubyte.gz"), np.zeros(7), gz=True)
    with pytest.raises(DataError, match="holds 10 images but .*train-labels-idx1-ubyte.gz holds 7 labels"):
        load_images("mnist", data_dir=folder)


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(DataError, match="unknown dataset 'cifar'; known datasets: digits, fashion_mnist, folder, mnist"):
        load_images("cifar")


def test_bad_limit():
    with pytest.raises(DataError, match="--limit must be a positive"):
        load_images("digits", limit=0)


def make_pictures(folder, n_good=3, mode="L", size=(40, 30)):
    from PIL import Image

    os.makedirs(folder, exist_ok=True)
    for i in range(n_good):
        Image.new(mode, size, color=200 if mode == "L" else (200, 10, 10)).save(os.path.join(folder, f"ok{i}.png"))


def test_image_folder_skips_and_counts_bad_files(tmp_path, caplog):
    from dcgan_helpers.image_folder import load_image_folder

    folder = tmp_path / "imgs"
    make_pictures(folder, 3)
    (folder / "empty.png").write_bytes(b"")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "notes.txt").write_text("hello")
    with caplog.at_level(logging.WARNING):
        x = load_image_folder(str(folder), size=32)
    assert x.shape == (3, 32, 32, 1)
    assert "skipped 3 unusable files (1 corrupt, 1 empty, 1 not an image)" in caplog.text
    assert x[:, 0].max() == 0 and x[:, 16].max() == 200  # 40x30 padded top and bottom


def test_image_folder_with_nothing_usable_is_refused(tmp_path):
    from dcgan_helpers.image_folder import load_image_folder

    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "b.txt").write_text("x")
    with pytest.raises(DataError, match="no usable images .*skipped 2 unusable files"):
        load_image_folder(str(tmp_path))


@pytest.mark.slow
def test_rgb_folder_for_a_model_asked_for_grayscale_is_refused(tmp_path):
    from dcgan_helpers.config import TrainConfig
    from dcgan_helpers.run import train

    make_pictures(tmp_path / "rgb", 4, mode="RGB")
    cfg = TrainConfig(model="fast", dataset="folder", data_dir=str(tmp_path / "rgb"), epochs=1,
                      batch_size=2, image_shape=(28, 28, 1))
    with pytest.raises(DataError) as info:
        train(cfg, str(tmp_path / "run"), progress=False)
    assert "3-channel (RGB) images" in str(info.value) and "--channels 3" in str(info.value)
    assert not (tmp_path / "run").exists()
    cfg.image_shape = (28, 28, 3)
    assert train(cfg, str(tmp_path / "run"), progress=False).generator.output_shape == (None, 28, 28, 3)


def test_truncated_npz_is_a_data_error(tmp_path):
    rng = np.random.default_rng(2)
    np.savez_compressed(tmp_path / "mnist.npz", x_train=rng.integers(0, 255, (50, 28, 28), dtype=np.uint8),
                        y_train=np.arange(50) % 10)
    data = (tmp_path / "mnist.npz").read_bytes()
    (tmp_path / "mnist.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"mnist.npz: not a readable .npz file .*truncated or corrupt"):
        load_images("mnist", data_dir=str(tmp_path))


def test_idx_header_claiming_a_huge_array_is_refused_before_reading(tmp_path):
    import gzip
    import struct

    folder = tmp_path / "bomb"
    folder.mkdir()
    with gzip.open(folder / "train-images-idx3-ubyte.gz", "wb") as f:  # claims 4e9 x 28 x 28 bytes
        f.write(struct.pack(">IIII", 0x0803, 4_000_000_000, 28, 28) + b"\0" * 1000)
    write_idx(str(folder / "train-labels-idx1-ubyte.gz"), np.zeros(4), gz=True)
    with pytest.raises(DataError, match=r"header says shape \(4000000000, 28, 28\).*the file is corrupt"):
        load_images("mnist", data_dir=str(folder))


def test_image_too_large_to_decode_is_skipped_by_name(tmp_path, caplog):
    import struct
    import zlib

    from dcgan_helpers.image_folder import load_image_folder

    folder = tmp_path / "imgs"
    make_pictures(folder, 2)
    png = (folder / "ok0.png").read_bytes()
    # The same small PNG, its header saying 30000 x 30000 pixels (a decompression bomb's size).
    ihdr = b"IHDR" + struct.pack(">II", 30000, 30000) + png[24:29]
    bomb = png[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + png[33:]
    (folder / "huge.png").write_bytes(bomb)
    with caplog.at_level(logging.WARNING):
        x = load_image_folder(str(folder), size=32)
    assert x.shape == (2, 32, 32, 1)
    assert "skipped 1 unusable files (1 too large to decode safely): huge.png" in caplog.text
