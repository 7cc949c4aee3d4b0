"""Each builder matches its source document layer for layer (types, sizes, strides, activations)."""

import keras
import pytest

from dcgan_helpers.errors import ConfigError
from dcgan_helpers.models import MODELS, fast, get_spec


def describe(model: keras.Model) -> list[tuple]:
    """A compact, comparable description of every layer that matters for the architecture."""
    out = []
    for layer in model.layers:
        cfg = layer.get_config()
        name = type(layer).__name__
        if name in ("Conv2D", "Conv2DTranspose"):
            out.append((name, cfg["filters"], cfg["kernel_size"][0], cfg["strides"][0],
                        cfg["padding"], cfg["use_bias"], cfg["activation"]))
        elif name == "Dense":
            out.append((name, cfg["units"], cfg["use_bias"], cfg["activation"]))
        elif name == "LeakyReLU":
            out.append((name, round(cfg["negative_slope"], 3)))
        elif name == "Dropout":
            out.append((name, cfg["rate"]))
        elif name == "Activation":
            out.append((name, cfg["activation"]))
        else:
            out.append((name,))
    return out


PUBLISHED = {
    # TensorFlow tutorial, seeds 000/002. LeakyReLU() defaults to a 0.3 slope in Keras.
    "tutorial": (
        [("Dense", 12544, False, "linear"), ("BatchNormalization",), ("LeakyReLU", 0.3), ("Reshape",),
         ("Conv2DTranspose", 128, 5, 1, "same", False, "linear"), ("BatchNormalization",), ("LeakyReLU", 0.3),
         ("Conv2DTranspose", 64, 5, 2, "same", False, "linear"), ("BatchNormalization",), ("LeakyReLU", 0.3),
         ("Conv2DTranspose", 1, 5, 2, "same", False, "tanh")],
        [("Conv2D", 64, 5, 2, "same", True, "linear"), ("LeakyReLU", 0.3), ("Dropout", 0.3),
         ("Conv2D", 128, 5, 2, "same", True, "linear"), ("LeakyReLU", 0.3), ("Dropout", 0.3),
         ("Flatten",), ("Dense", 1, True, "linear")],
        2_330_944, 212_865),
    # GANs in Action ch. 4, seed 001.
    "gans_in_action": (
        [("Dense", 12544, True, "linear"), ("Reshape",),
         ("Conv2DTranspose", 128, 3, 2, "same", True, "linear"), ("BatchNormalization",), ("LeakyReLU", 0.01),
         ("Conv2DTranspose", 64, 3, 1, "same", True, "linear"), ("BatchNormalization",), ("LeakyReLU", 0.01),
         ("Conv2DTranspose", 1, 3, 2, "same", True, "linear"), ("Activation", "tanh")],
        [("Conv2D", 32, 3, 2, "same", True, "linear"), ("LeakyReLU", 0.01),
         ("Conv2D", 64, 3, 2, "same", True, "linear"), ("LeakyReLU", 0.01),
         ("Conv2D", 128, 3, 2, "same", True, "linear"), ("LeakyReLU", 0.01),
         ("Flatten",), ("Dense", 1, True, "sigmoid")],
        1_637_121, 94_721),
    # Smart Design Lab, seed 004 (tf.layers: bias on every conv/dense).
    "lab": (
        [("Dense", 6272, True, "linear"), ("Reshape",), ("BatchNormalization",), ("ReLU",),
         ("Conv2DTranspose", 64, 5, 2, "same", True, "linear"), ("BatchNormalization",), ("ReLU",),
         ("Conv2DTranspose", 32, 5, 2, "same", True, "linear"), ("BatchNormalization",), ("ReLU",),
         ("Conv2DTranspose", 1, 5, 1, "same", True, "tanh")],
        [("Conv2D", 32, 5, 2, "same", True, "linear"), ("LeakyReLU", 0.2),
         ("Conv2D", 64, 5, 2, "same", True, "linear"), ("BatchNormalization",), ("LeakyReLU", 0.2),
         ("Conv2D", 128, 5, 2, "same", True, "linear"), ("BatchNormalization",), ("LeakyReLU", 0.2),
         ("Flatten",), ("Dense", 1, True, "linear")],
        None, None),
    # DCGAN paper at 64x64, seed 003.
    "paper64": (
        [("Reshape",), ("Conv2DTranspose", 1024, 4, 1, "valid", True, "linear"), ("BatchNormalization",), ("LeakyReLU", 0.3),
         ("Conv2DTranspose", 512, 4, 2, "same", True, "linear"), ("BatchNormalization",), ("LeakyReLU", 0.3),
         ("Conv2DTranspose", 256, 4, 2, "same", True, "linear"), ("BatchNormalization",), ("LeakyReLU", 0.3),
         ("Conv2DTranspose", 128, 4, 2, "same", True, "linear"), ("BatchNormalization",), ("LeakyReLU", 0.3),
         ("Conv2DTranspose", 1, 4, 2, "same", True, "tanh")],
        [("Conv2D", 128, 4, 2, "same", True, "linear"), ("LeakyReLU", 0.3),
         ("Conv2D", 256, 4, 2, "same", True, "linear"), ("BatchNormalization",), ("LeakyReLU", 0.3), ("Dropout", 0.3),
         ("Conv2D", 512, 4, 2, "same", True, "linear"), ("BatchNormalization",), ("LeakyReLU", 0.3), ("Dropout", 0.3),
         ("Conv2D", 1024, 4, 2, "same", True, "linear"), ("BatchNormalization",), ("LeakyReLU", 0.3), ("Dropout", 0.3),
         ("Conv2D", 1, 4, 1, "valid", True, "linear"), ("Dropout", 0.3), ("Flatten",),
         ("Dense", 1, True, "linear"), ("Activation", "sigmoid")],
        None, None),
    "vanilla": (
        [("Dense", 128, True, "linear"), ("LeakyReLU", 0.01), ("Dense", 784, True, "tanh"), ("Reshape",)],
        [("Flatten",), ("Dense", 128, True, "linear"), ("LeakyReLU", 0.01), ("Dense", 1, True, "sigmoid")],
        100 * 128 + 128 + 128 * 784 + 784, 784 * 128 + 128 + 129),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_layers_match_source(name):
    gen_layers, disc_layers, g_params, d_params = PUBLISHED[name]
    g, d = get_spec(name).build()
    assert describe(g) == gen_layers
    assert describe(d) == disc_layers
    if g_params is not None:
        assert g.count_params() == g_params and d.count_params() == d_params


@pytest.mark.parametrize("name", sorted(MODELS))
def test_shapes(name):
    spec = get_spec(name)
    g, d = spec.build()
    assert g.input_shape == (None, spec.latent_dim)
    assert g.output_shape == (None, *spec.image_shape)
    image_input = d.input_shape[0] if isinstance(d.input_shape, list) else d.input_shape
    assert image_input == (None, *spec.image_shape) and d.output_shape == (None, 1)


def test_paper64_rgb_and_recipe():
    spec = get_spec("paper64")
    g, d = spec.build(image_shape=(64, 64, 3))
    assert g.output_shape == (None, 64, 64, 3) and d.input_shape == (None, 64, 64, 3)
    assert (spec.lr_g, spec.beta1, spec.batch_size, spec.lr_decay_epochs) == (2e-4, 0.5, 128, (10, 20, 25))
    assert spec.from_logits is False


def test_recipes_from_sources():
    t = get_spec("tutorial")
    assert (t.lr_g, t.lr_d, t.beta1, t.batch_size, t.epochs, t.checkpoint_every, t.from_logits) == \
        (1e-4, 1e-4, 0.9, 256, 50, 15, True)
    gia = get_spec("gans_in_action")
    assert (gia.lr_g, gia.batch_size, gia.from_logits) == (1e-3, 128, False)
    lab = get_spec("lab")
    assert (lab.noise, lab.batch_size, lab.lr_g) == ("uniform", 100, 1e-3)


def test_unknown_model():
    with pytest.raises(ConfigError, match="unknown model 'big'; known models: fast, fast_class_clusters, fast_conditional, fast_unconditional, gans_in_action"):
        get_spec("big")


def test_paper64_quarter_is_the_paper_architecture_at_a_quarter_of_the_width():
    full_g, full_d = get_spec("paper64").build()
    quarter_g, quarter_d = get_spec("paper64_quarter").build()

    def quartered(description):
        return [(layer[0], layer[1] // 4 if layer[1] > 1 else 1, *layer[2:])
                if layer[0] in ("Conv2D", "Conv2DTranspose") else layer for layer in description]

    assert describe(quarter_g) == quartered(describe(full_g))
    assert describe(quarter_d) == quartered(describe(full_d))
    assert quarter_g.output_shape == full_g.output_shape == (None, 64, 64, 1)
    assert quarter_g.count_params() < full_g.count_params() / 10  # the noise layer shrinks only 4x
    q, p = get_spec("paper64_quarter"), get_spec("paper64")
    assert (q.lr_g, q.beta1, q.batch_size, q.lr_decay_epochs, q.from_logits) == \
        (p.lr_g, p.beta1, p.batch_size, p.lr_decay_epochs, p.from_logits)


def test_fast_is_fast_unconditional_plus_the_cluster_layers():
    g, d = get_spec("fast").build()
    ug, ud = get_spec("fast_unconditional").build()
    assert [x for x in describe(g) if x != ("ClusterCode",)] == describe(ug)
    assert [x for x in describe(d) if x not in (("InputLayer",), ("Projection",), ("Add",))] == \
        [x for x in describe(ud) if x != ("InputLayer",)]
    assert len(d.inputs) == 2 and len(ud.inputs) == 1
    # G's first Dense also sees the one-hot cluster (k more inputs); ClusterCode holds
    # k centroids of 784 pixels and k frequencies (not trained)
    k = fast.NUM_CLUSTERS
    assert g.count_params() - ug.count_params() == k * 7 * 7 * 64 + k * 784 + k
    assert len(g.trainable_weights) == len(ug.trainable_weights)
