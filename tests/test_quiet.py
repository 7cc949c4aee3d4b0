"""import_tensorflow: TensorFlow without its C++ start-up lines, and (for the command line) sooner."""

import subprocess
import sys

CHECK = """
import sys
from dcgan_helpers.quiet import import_tensorflow
tf = import_tensorflow(without_keras_extras=True)
assert "sklearn" not in sys.modules, "Keras loaded scikit-learn"
assert "matplotlib" not in sys.modules, "Keras loaded matplotlib"
import keras
assert keras.layers.Dense(2)(tf.ones((1, 3))).shape == (1, 2)
from sklearn.datasets import load_digits  # scikit-learn itself still imports afterwards
from matplotlib.figure import Figure  # and matplotlib (the loss plot)
Figure().subplots()
print(load_digits().images.shape)
"""


def test_command_line_import_skips_keras_extras():
    proc = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "(1797, 8, 8)"
    assert proc.stderr == ""  # nor any C++ start-up line
