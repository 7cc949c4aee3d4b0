"""Grappler is off while training on a CPU, and its setting comes back afterwards."""

import pytest
import tensorflow as tf

from dcgan_helpers import graph_optimizer


def meta_optimizer_disabled() -> bool:
    return tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer", False)


def test_off_within_the_block_on_cpu_and_restored_after_an_error():
    assert not graph_optimizer.accelerator_present()  # the test machines have no GPU
    before = meta_optimizer_disabled()
    with pytest.raises(RuntimeError):
        with graph_optimizer.skipped_on_cpu() as skipped:
            assert skipped and meta_optimizer_disabled()
            raise RuntimeError("a failing step")
    assert meta_optimizer_disabled() == before


def test_a_users_own_setting_survives():
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        with graph_optimizer.skipped_on_cpu():
            pass
        assert meta_optimizer_disabled()
    finally:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": False})


def test_left_on_with_an_accelerator(monkeypatch):
    monkeypatch.setattr(graph_optimizer, "accelerator_present", lambda: True)
    with graph_optimizer.skipped_on_cpu() as skipped:
        assert not skipped and not meta_optimizer_disabled()
