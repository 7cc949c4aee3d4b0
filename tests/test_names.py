"""The names a learner picks from are written once (dcgan_helpers/names.py): the command line
offers them, the registries build each of them, and `--help` stays free of TensorFlow."""

import os
import subprocess
import sys

import pytest

from dcgan_helpers import names
from dcgan_helpers.cli import build_parser

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def choices(command: str, option: str) -> tuple:
    """The choices the command line offers for `command OPTION`."""
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices[command]
    return tuple(next(a for a in sub._actions if option in a.option_strings).choices)


def test_the_command_line_offers_the_names_list():
    assert choices("train", "--model") == names.MODEL_NAMES
    assert choices("train", "--dataset") == names.DATASET_NAMES
    assert choices("train", "--strategy") == names.STRATEGY_NAMES
    assert choices("train", "--preset") == names.PRESET_NAMES
    assert choices("train", "--loss") == names.LOSS_NAMES


def test_every_model_name_is_built_and_every_built_model_is_named():
    from dcgan_helpers.models import MODELS, get_spec, model_names

    assert tuple(model_names()) == tuple(sorted(MODELS)) == names.MODEL_NAMES
    assert all(get_spec(name).name == name for name in names.MODEL_NAMES)


def test_every_dataset_name_has_a_loader_or_is_streamed():
    from dcgan_helpers import datasets

    assert tuple(datasets.dataset_names()) == names.IN_MEMORY_DATASETS
    assert set(names.IN_MEMORY_DATASETS).isdisjoint(names.STREAMED_DATASETS)
    assert set(names.DATASET_NAMES) == set(names.IN_MEMORY_DATASETS) | set(names.STREAMED_DATASETS)


def test_every_strategy_and_preset_name_is_known():
    from dcgan_helpers import distribute
    from dcgan_helpers.errors import ConfigError
    from dcgan_helpers.models import preset_model

    assert tuple(distribute.STRATEGY_NAMES) == names.STRATEGY_NAMES
    assert distribute.make_strategy("default") is not None
    with pytest.raises(ConfigError, match="unknown strategy 'nope'; known: default, mirrored"):
        distribute.make_strategy("nope")
    assert {preset_model(p, "mnist") for p in names.PRESET_NAMES} <= set(names.MODEL_NAMES)


def test_the_command_line_lists_its_names_without_loading_tensorflow():
    code = ("import sys; from dcgan_helpers import cli; cli.build_parser().format_help()\n"
            "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'tensorflow', 'keras', 'numpy'})\n"
            "print(heavy)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=REPO), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
