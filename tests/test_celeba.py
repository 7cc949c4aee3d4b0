"""CelebA: the official folder layout, TFRecord conversion once, streaming, and a paper64 step."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from dcgan_helpers import celeba
from dcgan_helpers.celeba import (celeba_dataset, celeba_training_data, convert_to_tfrecord,
                                  count_records, crop_box, partition_ids, read_bboxes,
                                  read_partitions)
from dcgan_helpers.errors import ConfigError, DataError

RED, BLUE = (230, 20, 20), (20, 20, 230)
# image id -> partition; 000013.jpg is corrupt, 000014.jpg is listed but absent
PARTS = {f"{i:06d}.jpg": p for i, p in zip(range(1, 15), [0] * 8 + [1] * 3 + [2] * 2 + [0])}


def write_celeba(root, boxes_header=True):
    """A fake CelebA folder in the official layout: 13 tiny JPEGs per type, one corrupt."""
    aligned, wild = root / "img_align_celeba", root / "img_celeba"
    aligned.mkdir(parents=True)
    wild.mkdir()
    boxes = {}
    for i in range(1, 13):
        name = f"{i:06d}.jpg"
        # aligned: 36x44 (CelebA's 178x218 shape), top and bottom bands blue, centre red
        a = np.zeros((44, 36, 3), np.uint8) + np.array(BLUE, np.uint8)
        a[4:40] = RED
        Image.fromarray(a).save(aligned / name, quality=95)
        # in the wild: 80x60, blue, with a red 24x24 face at a different place each time
        x, y = 4 + 3 * i, 6 + i
        w = np.zeros((60, 80, 3), np.uint8) + np.array(BLUE, np.uint8)
        w[y:y + 24, x:x + 24] = RED
        Image.fromarray(w).save(wild / name, quality=95)
        boxes[name] = (x, y, 24, 24)
    for folder in (aligned, wild):
        (folder / "000013.jpg").write_bytes(b"not a jpeg at all")
    boxes["000013.jpg"] = (0, 0, 10, 10)
    boxes["000014.jpg"] = (0, 0, 10, 10)
    lines = [str(len(boxes)), "image_id x_1 y_1 width height"]
    lines += [f"{k} {x} {y} {w} {h}" for k, (x, y, w, h) in sorted(boxes.items())]
    (root / "list_bbox_celeba.txt").write_text("\n".join(lines) + "\n")
    (root / "list_eval_partition.txt").write_text(
        "".join(f"{k} {v}\n" for k, v in sorted(PARTS.items())))
    return str(root)


@pytest.fixture
def celeba_dir(tmp_path):
    return write_celeba(tmp_path / "celeba")


def test_partitions(celeba_dir):
    parts = read_partitions(os.path.join(celeba_dir, "list_eval_partition.txt"))
    assert parts["000001.jpg"] == 0 and parts["000009.jpg"] == 1 and parts["000012.jpg"] == 2
    assert partition_ids(celeba_dir, "train") == [f"{i:06d}.jpg" for i in (1, 2, 3, 4, 5, 6, 7, 8, 14)]
    assert partition_ids(celeba_dir, "val") == ["000009.jpg", "000010.jpg", "000011.jpg"]
    assert partition_ids(celeba_dir, "test") == ["000012.jpg", "000013.jpg"]
    assert len(partition_ids(celeba_dir, "all")) == 14
    with pytest.raises(ConfigError, match="unknown partition 'dev'"):
        partition_ids(celeba_dir, "dev")


def test_text_files_in_anno_and_eval_subfolders(celeba_dir):
    os.makedirs(os.path.join(celeba_dir, "Eval"))
    os.rename(os.path.join(celeba_dir, "list_eval_partition.txt"),
              os.path.join(celeba_dir, "Eval", "list_eval_partition.txt"))
    assert len(partition_ids(celeba_dir, "val")) == 3


def test_bboxes(celeba_dir):
    boxes = read_bboxes(os.path.join(celeba_dir, "list_bbox_celeba.txt"))
    assert len(boxes) == 14 and boxes["000002.jpg"] == (10, 8, 24, 24)


@pytest.mark.parametrize("text, line, message", [
    ("3\nimage_id x_1 y_1 width height\n000001.jpg 1 2 3\n", 3, "x_1 y_1 width height"),
    ("1\nimage_id x_1 y_1 width height\n000001.jpg 1 2 three 4\n", 3, "integers"),
    ("1\nimage_id x_1 y_1 width height\n000001.jpg 1 2 0 4\n", 3, "positive width"),
    ("many\nimage_id x_1 y_1 width height\n", 1, "number of images"),
    ("1\n000001.jpg 1 2 3 4\n", 2, "column names"),
    ("2\nimage_id x_1 y_1 width height\n000001.jpg 1 2 3 4\n000001.jpg 1 2 3 4\n", 4, "listed twice"),
])
def test_malformed_bbox_lines_name_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "list_bbox_celeba.txt"
    path.write_text(text)
    with pytest.raises(DataError, match=rf"list_bbox_celeba.txt, line {line}: .*{message}"):
        read_bboxes(str(path))


def test_truncated_bbox_file(tmp_path):
    path = tmp_path / "list_bbox_celeba.txt"
    path.write_text("5\nimage_id x_1 y_1 width height\n000001.jpg 1 2 3 4\n")
    with pytest.raises(DataError, match="says 5 images but 1 boxes follow"):
        read_bboxes(str(path))


@pytest.mark.parametrize("text, line", [
    ("000001.jpg 0\n000002.jpg 3\n", 2),
    ("000001.jpg 0\n\n000002.jpg\n", 3),
    ("000001.jpg 0 1\n", 1),
])
def test_malformed_partition_lines_name_file_and_line(tmp_path, text, line):
    path = tmp_path / "list_eval_partition.txt"
    path.write_text(text)
    with pytest.raises(DataError, match=rf"list_eval_partition.txt, line {line}: expected"):
        read_partitions(str(path))


def test_crop_box():
    assert crop_box(178, 218) == (0, 20, 178, 198)  # centred square
    assert crop_box(80, 60, (10, 20, 20, 30)) == (5, 20, 35, 50)  # square around the box
    assert crop_box(80, 60, (70, 50, 10, 10)) == (70, 50, 80, 60)  # kept inside the image
    assert crop_box(80, 60, (60, 0, 40, 40)) == (40, 0, 80, 40)  # moved back inside
    assert crop_box(80, 60, (0, 0, 100, 100)) == (20, 0, 80, 60)  # never larger than the image


def _read_all(path):
    batches = list(celeba_dataset(path, batch_size=1, shuffle=False))
    return np.concatenate([b.numpy() for b in batches])


def test_bbox_cropping_keeps_the_face(celeba_dir, tmp_path):
    out = str(tmp_path / "wild_bbox.tfrecord")
    info = convert_to_tfrecord(celeba_dir, out, image_type="img_celeba", partition="all", size=16)
    faces = _read_all(out)
    assert faces.shape == (12, 16, 16, 3)
    # only the red face, whatever its position (JPEG blurs colours a little at its edges)
    assert (faces[..., 0] - faces[..., 2] > 0.5).all()
    assert info.settings["bbox"] is True

    plain = str(tmp_path / "wild_centre.tfrecord")
    convert_to_tfrecord(celeba_dir, plain, image_type="img_celeba", partition="all", size=16, bbox=False)
    centred = _read_all(plain)
    assert (centred[..., 2] - centred[..., 0] > 0.5).mean() > 0.3  # much blue background without it


def test_aligned_images_are_centre_cropped(celeba_dir, tmp_path):
    out = str(tmp_path / "aligned.tfrecord")
    info = convert_to_tfrecord(celeba_dir, out, partition="train", size=64)
    assert info.settings["bbox"] is False  # boxes are for img_celeba only
    images = _read_all(out)
    assert images.shape == (8, 64, 64, 3) and images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0
    # the 36x36 centre of a 36x44 picture is the red band: blue only at the very edges
    assert (images[:, 4:60, :, 0] > 0.5).all()


def test_converts_once_and_records_the_count(celeba_dir, tmp_path):
    out = str(tmp_path / "celeba_train.tfrecord")
    first = convert_to_tfrecord(celeba_dir, out, partition="train")
    assert first.converted_now and first.count == 8
    assert first.skipped == {"missing": 1}
    stat = os.stat(out)
    meta = json.loads(open(out + ".json").read())
    assert meta["count"] == 8 and meta["bytes"] == stat.st_size and meta["settings"]["size"] == 64
    second = convert_to_tfrecord(celeba_dir, out, partition="train")
    assert not second.converted_now and second.count == 8
    assert os.stat(out).st_mtime_ns == stat.st_mtime_ns and os.stat(out).st_ino == stat.st_ino
    assert count_records(out) == 8
    os.remove(out + ".json")
    assert count_records(out) == 8  # counted by reading the file


def test_unreadable_and_missing_images_are_skipped_and_counted(celeba_dir, tmp_path, caplog):
    info = convert_to_tfrecord(celeba_dir, str(tmp_path / "test.tfrecord"), partition="test")
    assert info.count == 1 and info.skipped == {"unreadable": 1}
    info = convert_to_tfrecord(celeba_dir, str(tmp_path / "all.tfrecord"), partition="all")
    assert info.count == 12 and info.skipped == {"unreadable": 1, "missing": 1}
    assert info.skipped_count == 2
    assert "skipped 2 images (1 missing, 1 unreadable)" in caplog.text


def test_other_settings_are_refused_unless_overwrite(celeba_dir, tmp_path):
    out = str(tmp_path / "c.tfrecord")
    convert_to_tfrecord(celeba_dir, out, partition="val", size=16)
    with pytest.raises(ConfigError, match="conversion with other settings"):
        convert_to_tfrecord(celeba_dir, out, partition="val", size=32)
    info = convert_to_tfrecord(celeba_dir, out, partition="val", size=32, overwrite=True)
    assert info.converted_now and _read_all(out).shape == (3, 32, 32, 3)
    stranger = tmp_path / "someone_elses.tfrecord"
    stranger.write_bytes(b"x")
    with pytest.raises(ConfigError, match="did not write"):
        convert_to_tfrecord(celeba_dir, str(stranger), partition="val")


def test_interrupted_conversion_leaves_no_file_and_is_redone(celeba_dir, tmp_path, monkeypatch):
    out = tmp_path / "c.tfrecord"
    real = celeba.load_face
    calls = []

    def crash_on_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(celeba, "load_face", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        convert_to_tfrecord(celeba_dir, str(out), partition="train")
    assert os.listdir(tmp_path) == ["celeba"]  # no half-written file, no temporary left
    monkeypatch.setattr(celeba, "load_face", real)
    assert convert_to_tfrecord(celeba_dir, str(out), partition="train").count == 8
    # a record that does not match the file (crash between record and rename) means: redo
    meta = json.loads((tmp_path / "c.tfrecord.json").read_text())
    meta["bytes"] += 1
    (tmp_path / "c.tfrecord.json").write_text(json.dumps(meta))
    assert convert_to_tfrecord(celeba_dir, str(out), partition="train").converted_now


def test_missing_folders_and_files(celeba_dir, tmp_path):
    with pytest.raises(DataError, match="CelebA folder not found: /no/celeba"):
        convert_to_tfrecord("/no/celeba", str(tmp_path / "a.tfrecord"))
    empty = tmp_path / "empty"
    (empty / "img_celeba").mkdir(parents=True)
    with pytest.raises(DataError, match=r"no img_align_celeba/ folder .*found img_celeba/"):
        convert_to_tfrecord(str(empty), str(tmp_path / "a.tfrecord"))
    with pytest.raises(DataError, match="no list_eval_partition.txt"):
        convert_to_tfrecord(str(empty), str(tmp_path / "a.tfrecord"), image_type="img_celeba")
    os.remove(os.path.join(celeba_dir, "list_bbox_celeba.txt"))
    with pytest.raises(DataError, match="no list_bbox_celeba.txt"):
        convert_to_tfrecord(celeba_dir, str(tmp_path / "a.tfrecord"), image_type="img_celeba")
    with pytest.raises(ConfigError, match="unknown image type 'img_align_celeba_png'"):
        convert_to_tfrecord(celeba_dir, str(tmp_path / "a.tfrecord"), image_type="img_align_celeba_png")
    with pytest.raises(DataError, match="TFRecord not found"):
        celeba_dataset(str(tmp_path / "nothing.tfrecord"), 4)
    assert not os.path.exists(tmp_path / "a.tfrecord")


def test_streaming_batches_shuffle_per_epoch(celeba_dir, tmp_path):
    out = str(tmp_path / "all.tfrecord")
    convert_to_tfrecord(celeba_dir, out, image_type="img_celeba", partition="all", size=8, bbox=False)
    dataset_fn, steps = celeba_training_data(out, batch_size=5, seed=1, shuffle_buffer=4)
    assert steps == 2  # 12 images, the last 2 dropped
    epoch1 = [b.numpy() for b in dataset_fn(1)]
    assert [b.shape for b in epoch1] == [(5, 8, 8, 3)] * 2
    assert np.array_equal(np.concatenate(epoch1), np.concatenate([b.numpy() for b in dataset_fn(1)]))
    orders = {tuple(np.concatenate([b.numpy() for b in dataset_fn(e)]).mean(axis=(1, 2, 3)).round(4))
              for e in range(1, 6)}
    assert len(orders) > 1  # another order each epoch
    with pytest.raises(ConfigError, match="fewer than one batch of 64"):
        celeba_training_data(out, batch_size=64)


@pytest.mark.slow
def test_paper64_trains_one_step_from_the_tfrecord(celeba_dir, tmp_path):
    from dcgan_helpers.config import TrainConfig
    from dcgan_helpers.run import train

    record = str(tmp_path / "train.tfrecord")
    convert_to_tfrecord(celeba_dir, record, partition="train")
    dataset_fn, _ = celeba_training_data(record, batch_size=2, seed=0)
    config = TrainConfig(model="paper64", dataset="celeba", data_dir=celeba_dir, image_shape=(64, 64, 3),
                         batch_size=2, epochs=1, seed=0, checkpoint_every=1, num_examples=4)
    result = train(config, str(tmp_path / "run"), dataset_fn=lambda e: dataset_fn(e).take(1),
                   steps_per_epoch=1, progress=False)
    assert (result.epochs_done, result.steps_done) == (1, 1)
    assert result.generator.output_shape == (None, 64, 64, 3)
    assert np.isfinite([float(result.rows[0][k]) for k in ("d_loss", "g_loss")]).all()
    assert os.path.isfile(tmp_path / "run" / "grids" / "epoch_0001.png")


@pytest.mark.slow
def test_cli_trains_paper64_on_celeba_and_refuses_a_28x28_model(celeba_dir, tmp_path):
    import subprocess
    import sys

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    base = [sys.executable, "-m", "dcgan_helpers", "train", "--dataset", "celeba",
            "--data-dir", str(celeba_dir), "--no-progress"]
    ok = subprocess.run(base + ["--model", "paper64", "--dry-run", "--out", str(tmp_path / "run")],
                        capture_output=True, text=True, env=env, timeout=600)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert (tmp_path / "run" / "generator.keras").exists()
    assert list(tmp_path.glob("celeba_img_align_celeba_train_64*.tfrecord"))
    bad = subprocess.run(base + ["--model", "tutorial", "--out", str(tmp_path / "bad")],
                         capture_output=True, text=True, env=env, timeout=600)
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: --dataset celeba makes 64x64 images; use --model paper64")
