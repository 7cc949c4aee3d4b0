"""Grappler is off while training on a CPU only, on again afterwards, and left alone where
TensorFlow sees a GPU or a TPU. Both cases run on every machine: the decision is given the
devices explicitly, and the machine's own devices are checked against what it then does."""

import pytest
import tensorflow as tf

from dcgan_helpers import graph_optimizer

CPU = tf.config.PhysicalDevice(name="/physical_device:CPU:0", device_type="CPU")
GPU = tf.config.PhysicalDevice(name="/physical_device:GPU:0", device_type="GPU")
TPU = tf.config.PhysicalDevice(name="/physical_device:TPU:0", device_type="TPU")


def meta_optimizer_disabled() -> bool:
    return tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer", False)


@pytest.fixture
def users_setting(request):
    """Grappler set on (False) or off (True) by the user for the test, put back after it."""
    before = meta_optimizer_disabled()
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": request.param})
    yield request.param
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": before})


@pytest.mark.parametrize("devices, accelerator", [
    ([CPU], False), ([CPU, GPU], True), ([CPU, TPU], True), ([GPU], True), ([], False)])
def test_an_accelerator_is_any_device_but_the_cpu(devices, accelerator):
    assert graph_optimizer.accelerator_present(devices) is accelerator


@pytest.mark.parametrize("users_setting", [False, True], indirect=True)
def test_off_within_the_block_on_cpu_and_the_users_setting_back_after_an_error(users_setting):
    with pytest.raises(RuntimeError):
        with graph_optimizer.skipped_on_cpu([CPU]) as skipped:
            assert skipped and meta_optimizer_disabled()
            raise RuntimeError("a failing step")
    assert meta_optimizer_disabled() == users_setting


@pytest.mark.parametrize("users_setting", [False, True], indirect=True)
@pytest.mark.parametrize("accelerator", [GPU, TPU])
def test_left_as_it_was_with_an_accelerator(users_setting, accelerator):
    with graph_optimizer.skipped_on_cpu([CPU, accelerator]) as skipped:
        assert not skipped and meta_optimizer_disabled() == users_setting
    assert meta_optimizer_disabled() == users_setting


@pytest.mark.parametrize("users_setting", [False], indirect=True)
def test_this_machine_follows_its_own_devices(users_setting):
    devices = tf.config.list_physical_devices()
    on_cpu_only = all(d.device_type == "CPU" for d in devices)
    assert graph_optimizer.accelerator_present() is not on_cpu_only
    with graph_optimizer.skipped_on_cpu() as skipped:
        assert skipped is on_cpu_only and meta_optimizer_disabled() is on_cpu_only
    assert not meta_optimizer_disabled()
