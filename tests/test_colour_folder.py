"""A learner's own colour pictures train by default: the model's channels follow the data unless
--channels (or a resumed run's saved weights) fixed them, and then the error names the fix."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from dcgan_helpers.errors import DataError
from dcgan_helpers.pipeline import fit_channels

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- the decision ---------------------------------------------------------------------------

@pytest.mark.parametrize("model_shape, data_channels", [((28, 28, 1), 3), ((64, 64, 3), 1), ((28, 28, 1), 1)])
def test_the_channels_follow_the_data_when_nothing_fixed_them(model_shape, data_channels):
    assert fit_channels(model_shape, (5, 64, 64, data_channels)) == (*model_shape[:2], data_channels)


def test_channels_asked_for_that_the_data_lacks_are_refused_naming_the_option():
    assert fit_channels((28, 28, 3), (5, 64, 64, 3), channels_given=True) == (28, 28, 3)
    with pytest.raises(DataError) as info:
        fit_channels((28, 28, 1), (5, 64, 64, 3), channels_given=True, source="dataset 'folder'")
    message = str(info.value)
    assert message.startswith("dataset 'folder' has 3-channel (RGB) images but --channels 1 asks for "
                              "1-channel (grayscale) images")
    assert "leave out --channels" in message and "--channels 3" in message and "\n" not in message


def test_a_resumed_runs_channels_are_kept_and_a_mismatch_names_another_out(tmp_path):
    run = str(tmp_path / "run")
    assert fit_channels((28, 28, 3), (5, 28, 28, 3), resumed_from=run) == (28, 28, 3)
    with pytest.raises(DataError) as info:
        fit_channels((28, 28, 3), (5, 28, 28, 1), channels_given=False, resumed_from=run)
    message = str(info.value)
    assert "makes 3-channel (RGB) images" in message and "1-channel (grayscale)" in message
    assert "another --out" in message and "\n" not in message


# --- end to end: `train --dataset folder` on colour pictures ---------------------------------

def pictures(folder, mode: str, n: int = 12) -> str:
    """`n` small pictures of random pixels, RGB or grayscale ("L"), of another size than the models'."""
    from PIL import Image

    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        pixels = rng.integers(0, 256, (20, 24, 3) if mode == "RGB" else (20, 24), dtype=np.uint8)
        Image.fromarray(pixels).save(os.path.join(folder, f"{i}.png"))
    return str(folder)


def train(folder: str, out: str, *extra: str) -> subprocess.CompletedProcess:
    args = ["train", "--dataset", "folder", "--data-dir", folder, "--epochs", "1", "--limit", "8",
            "--batch-size", "4", "--seed", "0", "--no-progress", "--out", out, *extra]
    env = {k: v for k, v in os.environ.items() if k != "DCGAN_DATA_DIR"}
    return subprocess.run([sys.executable, "-m", "dcgan_helpers", *args], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=900)


def one_error_line(proc: subprocess.CompletedProcess, *words: str) -> str:
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def rgb(tmp_path_factory) -> str:
    return pictures(tmp_path_factory.mktemp("data") / "rgb", "RGB")


@pytest.mark.slow  # a command-line run each: about half a minute on 2 CPU cores
@pytest.mark.parametrize("how", [("--model", "tutorial"), ("--preset", "fast")])
def test_a_folder_of_colour_pictures_trains_by_default(tmp_path, rgb, how):
    from PIL import Image

    out = str(tmp_path / "run")
    proc = train(rgb, out, *how)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(os.path.join(out, "run.json")) as f:
        assert json.load(f)["image_shape"] == [28, 28, 3]
    with Image.open(os.path.join(out, "grids", "epoch_0001.png")) as grid:
        assert grid.mode == "RGB"


@pytest.mark.slow  # three command-line runs
def test_colour_pictures_with_channels_1_or_a_grayscale_run_are_refused_naming_the_fix(tmp_path, rgb):
    out = str(tmp_path / "asked-gray")
    one_error_line(train(rgb, out, "--model", "tutorial", "--channels", "1"),
                   "3-channel (RGB)", "--channels 1", "--channels 3")
    assert not os.path.exists(out)
    # A grayscale run, resumed on colour pictures: its saved weights fix 1 channel.
    gray = pictures(tmp_path / "gray", "L")
    out = str(tmp_path / "gray-run")
    assert train(gray, out, "--model", "tutorial").returncode == 0
    with open(os.path.join(out, "log.csv")) as f:
        log = f.read()
    one_error_line(train(rgb, out, "--epochs", "2", "--resume"), "3-channel (RGB)", "another --out")
    with open(os.path.join(out, "log.csv")) as f:
        assert f.read() == log
