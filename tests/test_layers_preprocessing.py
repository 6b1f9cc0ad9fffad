"""Preprocessing and augmentation layers against Keras 3 (tools/make_golden_preprocessing.py): Rescaling, Resizing,
CenterCrop, Normalization and RandomCrop at inference match Keras's outputs; Keras's affine warps (the
rotation, zoom and translation families of the random layers) match for every fill mode and interpolation;
configs match Keras's; the random layers keep their invariants (identity at inference, shape, range,
reproducible with a seed, flips are exact mirror images); float64 gradient checks."""
import json
import os

import numpy as np
import pytest

from kspec import backend, layers
from kspec.engine import Tensor
from kspec.engine.ops import image
from kspec.testing import check_backward, run_layer_test

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
GOLDEN = np.load(os.path.join(FIXTURES, "preprocessing_golden.npz"))
with open(os.path.join(FIXTURES, "preprocessing_configs.json")) as f:
    CASES = json.load(f)
ATOL = 2e-5  # relative to the data's scale (images in [0, 255]); float32 rounding of Keras's einsums
IMAGES = GOLDEN["images"]


def _build(case):
    layer = getattr(layers, case["class"])(**case["kwargs"])
    if case["adapt"]:
        layer.adapt(GOLDEN[case["adapt"]])
    return layer


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
def test_outputs_match_keras(name):
    case = CASES[name]
    layer = _build(case)
    x = GOLDEN[case["input"]]
    got = layer(x, training=case["training"]).data
    want = GOLDEN[f"{name}/out"]
    assert got.shape == want.shape, f"{name}: shape {got.shape} != Keras {want.shape}"
    scale = max(1.0, float(np.abs(want).max()))
    diff = float(np.abs(got.astype(np.float64) - want).max())
    assert diff <= ATOL * scale, f"{name}: max |kspec - Keras| {diff:.3g}"
    assert got.dtype == np.float32, f"{name}: output dtype {got.dtype}"


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
def test_configs_match_keras(name):
    case = CASES[name]
    layer = _build(case)
    config = layer.get_config()
    config.pop("dtype"), config.pop("name")
    want = dict(case["config"])
    want.pop("name")
    if case["class"] == "RandomCrop" and "seed" not in case["kwargs"]:
        config.pop("seed"), want.pop("seed")  # drawn at random when not given, by both
    assert config == want, f"{name}: config differs from Keras's"
    revived = type(layer).from_config(layer.get_config())
    assert revived.get_config() == layer.get_config(), f"{name}: from_config(get_config()) differs"


AFFINE = sorted(k for k in GOLDEN.files if k.startswith("affine/") and k != "affine/transforms")


@pytest.mark.parametrize("key", AFFINE, ids=[k[len("affine/"):] for k in AFFINE])
def test_affine_warps_match_keras(key):
    _, family, mode, interpolation = key.split("/")
    transforms = GOLDEN["affine/transforms"][("rotation", "zoom", "shift").index(family)]
    got = image.affine_transform(IMAGES, transforms, interpolation, mode, 3.0).data
    diff = float(np.abs(got.astype(np.float64) - GOLDEN[key]).max())
    assert diff <= ATOL * 255, f"{key}: max |kspec - Keras| {diff:.3g}"


def test_the_random_layers_draw_keras_transform_families():
    """The matrices the layers build are the ones Keras's layers build (the golden warps use them)."""
    from kspec.layers.augmentation import rotation_transforms, translation_transforms, zoom_transforms
    transforms = GOLDEN["affine/transforms"]
    np.testing.assert_allclose(rotation_transforms([30.0, -75.0], 6, 8), transforms[0], atol=1e-6)
    np.testing.assert_allclose(zoom_transforms([1.3, 0.7], [0.8, 0.7], 6, 8), transforms[1], atol=1e-6)
    np.testing.assert_allclose(translation_transforms([2.5, -3.0], [-1.25, 4.0]), transforms[2], atol=1e-6)


RANDOM = [(layers.RandomFlip, {}), (layers.RandomRotation, {"factor": 0.3}),
          (layers.RandomZoom, {"height_factor": 0.3, "width_factor": [-0.2, 0.4]}),
          (layers.RandomTranslation, {"height_factor": 0.2, "width_factor": 0.2}),
          (layers.RandomContrast, {"factor": [0.4, 0.4]})]


@pytest.mark.parametrize("cls, kwargs", RANDOM, ids=[c.__name__ for c, _ in RANDOM])
def test_random_layers_identity_at_inference_and_reproducible_in_training(cls, kwargs):
    x = IMAGES
    np.testing.assert_array_equal(cls(**kwargs, seed=4)(x).data, x, err_msg=f"{cls.__name__} must be the "
                                                                              "identity at inference")
    a = cls(**kwargs, seed=4)(x, training=True).data
    b = cls(**kwargs, seed=4)(x, training=True).data
    np.testing.assert_array_equal(a, b, err_msg=f"{cls.__name__}: the same seed must give the same output")
    assert a.shape == x.shape and a.dtype == np.float32
    assert not np.array_equal(a, x), f"{cls.__name__} changed nothing in training"
    low, high = (0, 255) if cls is layers.RandomContrast else (x.min(), x.max())  # contrast: value_range
    assert a.min() >= low - 1e-3 and a.max() <= high + 1e-3, \
        f"{cls.__name__}: interpolated/filled values must stay in [{low}, {high}]"
    backend.set_seed(11)
    c = cls(**kwargs)(x, training=True).data
    backend.set_seed(11)
    d = cls(**kwargs)(x, training=True).data
    np.testing.assert_array_equal(c, d, err_msg=f"{cls.__name__}: without a seed, the spec's (global) seed rules")


def test_random_flip_gives_exact_mirror_images():
    x = np.random.default_rng(0).uniform(size=(64, 3, 4, 2)).astype("float32")
    for mode, axes in (("horizontal", [(), (2,)]), ("vertical", [(), (1,)]),
                       ("horizontal_and_vertical", [(), (1,), (2,), (1, 2)])):
        out = layers.RandomFlip(mode, seed=0)(x, training=True).data
        seen = set()
        for i in range(len(x)):
            match = [a for a in axes if np.array_equal(out[i], np.flip(x[i], axis=tuple(d - 1 for d in a)))]
            assert match, f"{mode}: sample {i} is not a mirror image of its input"
            seen.add(match[0])
        assert seen == set(axes), f"{mode}: flips seen {seen}, expected all of {axes} over 64 samples"


def test_random_contrast_keeps_each_channel_mean_and_clips():
    x = np.random.default_rng(1).uniform(50, 200, size=(8, 5, 5, 3)).astype("float32")
    out = layers.RandomContrast([0.0, 0.5], seed=0)(x, training=True).data
    np.testing.assert_allclose(out.mean(axis=(1, 2)), x.mean(axis=(1, 2)), rtol=1e-4,
                               err_msg="inside the value range, contrast keeps each image's channel means")
    factor = (out - out.mean(axis=(1, 2), keepdims=True)) / (x - x.mean(axis=(1, 2), keepdims=True))
    per_image = factor.reshape(8, -1)
    assert np.allclose(per_image, per_image[:, :1], rtol=1e-3), "one factor per image"
    assert ((per_image[:, 0] >= 1.0 - 1e-4) & (per_image[:, 0] <= 1.5 + 1e-4)).all(), per_image[:, 0]
    clipped = layers.RandomContrast([0.9, 0.9], value_range=[60, 190], seed=0)(x, training=True).data
    assert clipped.min() >= 60 and clipped.max() <= 190


def test_random_crop_in_training_is_a_window_of_the_input():
    x = np.arange(2 * 6 * 8 * 1, dtype="float32").reshape(2, 6, 8, 1)
    out = layers.RandomCrop(3, 4, seed=2)(x, training=True).data
    assert out.shape == (2, 3, 4, 1)
    top, left = divmod(int(out[0, 0, 0, 0]), 8)
    np.testing.assert_array_equal(out, x[:, top:top + 3, left:left + 4], err_msg="a window of the input")


def test_rotation_by_a_full_turn_range_keeps_the_centre_pixel():
    x = np.random.default_rng(2).uniform(size=(4, 5, 5, 1)).astype("float32")
    out = layers.RandomRotation([-1.0, 1.0], seed=3)(x, training=True).data
    np.testing.assert_allclose(out[:, 2, 2], x[:, 2, 2], atol=1e-5, err_msg="rotation is about the centre")


@pytest.mark.parametrize("make, shape", [
    (lambda: layers.Rescaling(0.5, offset=1.0), (2, 3, 4)),
    (lambda: layers.Resizing(5, 3), (2, 4, 6, 2)),
    (lambda: layers.Resizing(3, 7, interpolation="bicubic", antialias=True), (2, 5, 4, 1)),
    (lambda: layers.Resizing(3, 3, interpolation="nearest", crop_to_aspect_ratio=True), (1, 4, 6, 2)),
    (lambda: layers.Resizing(3, 3, pad_to_aspect_ratio=True), (1, 4, 6, 2)),
    (lambda: layers.CenterCrop(2, 3), (2, 4, 5, 2)),
    (lambda: layers.CenterCrop(6, 6), (2, 4, 5, 2)),
    (lambda: layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 9.0]), (3, 2)),
], ids=["rescaling", "resizing", "resizing-bicubic-antialias", "resizing-nearest-crop", "resizing-pad",
        "center-crop", "center-crop-smaller", "normalization"])
def test_deterministic_layers_gradients(make, shape):
    layer = make()
    x = np.random.default_rng(0).normal(size=shape)
    check_backward(lambda t: layer(t), [x])


@pytest.mark.parametrize("cls, kwargs", RANDOM + [(layers.RandomRotation, {"factor": 0.2, "fill_mode": "constant"}),
                                                  (layers.RandomZoom, {"height_factor": 0.2, "fill_mode": "wrap"}),
                                                  (layers.RandomTranslation, {"height_factor": 0.3, "width_factor": 0.1,
                                                                              "fill_mode": "nearest"}),
                                                  (layers.RandomRotation, {"factor": 0.2, "fill_mode": "mirror",
                                                                           "interpolation": "nearest"}),
                                                  (layers.RandomCrop, {"height": 3, "width": 3})],
                         ids=[c.__name__ for c, _ in RANDOM] + ["rotation-constant", "zoom-wrap", "translation-nearest",
                                                                "rotation-mirror-nearest", "crop"])
def test_random_layers_gradients_in_training(cls, kwargs):
    x = np.random.default_rng(0).uniform(0.2, 0.8, size=(3, 5, 6, 2))
    if cls is layers.RandomContrast:
        kwargs = dict(kwargs, value_range=[0, 1])

    def fn(t):
        layer = cls(**kwargs, seed=7)  # a fresh layer per evaluation: the same draws each time
        return layer(t, training=True)
    check_backward(fn, [x])


def test_normalization_adapt_keeps_statistics_as_weights():
    x = GOLDEN["features"]
    layer = layers.Normalization()
    layer.adapt(x)
    assert [w.name for w in layer.weights] == ["mean", "variance", "count"]
    assert not layer.trainable_weights, "the statistics are not trainable"
    np.testing.assert_allclose(layer.get_weights()[0], x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(layer.get_weights()[1], x.var(axis=0), rtol=1e-5)
    with pytest.raises(ValueError, match="incompatible shape"):
        layer.adapt(np.zeros((3, 5)))


@pytest.mark.parametrize("cls, kwargs, input_shape, output_shape", [
    (layers.Rescaling, {"scale": 2.0}, (2, 4), (2, 4)),
    (layers.Resizing, {"height": 3, "width": 2}, (2, 4, 5, 3), (2, 3, 2, 3)),
    (layers.CenterCrop, {"height": 2, "width": 2}, (2, 4, 5, 3), (2, 2, 2, 3)),
    (layers.Normalization, {"mean": 1.0, "variance": 2.0}, (2, 4), (2, 4)),
    (layers.RandomFlip, {"seed": 1}, (2, 4, 5, 3), (2, 4, 5, 3)),
    (layers.RandomRotation, {"factor": 0.1, "seed": 1}, (2, 4, 5, 3), (2, 4, 5, 3)),
    (layers.RandomZoom, {"height_factor": 0.1, "seed": 1}, (2, 4, 5, 3), (2, 4, 5, 3)),
    (layers.RandomTranslation, {"height_factor": 0.1, "width_factor": 0.1, "seed": 1}, (2, 4, 5, 3), (2, 4, 5, 3)),
    (layers.RandomContrast, {"factor": 0.1, "seed": 1}, (2, 4, 5, 3), (2, 4, 5, 3)),
    (layers.RandomCrop, {"height": 3, "width": 3, "seed": 1}, (2, 4, 5, 3), (2, 3, 3, 3)),
], ids=lambda v: v.__name__ if isinstance(v, type) else None)
def test_layer_harness(cls, kwargs, input_shape, output_shape):
    run_layer_test(cls, kwargs, input_shape, expected_output_shape=output_shape,
                   expected_num_trainable_weights=0, run_training_check=False)


@pytest.mark.parametrize("make, words", [
    (lambda: layers.Resizing(4, 4, interpolation="area"), "interpolation"),
    (lambda: layers.Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), "Only one of"),
    (lambda: layers.Resizing(0, 4), "height"),
    (lambda: layers.RandomRotation(1.5), "factor"),
    (lambda: layers.RandomRotation(0.1, fill_mode="edge"), "fill_mode"),
    (lambda: layers.RandomZoom(-1.0), "height_factor"),
    (lambda: layers.RandomFlip("diagonal"), "unknown mode"),
    (lambda: layers.RandomContrast(1.5), "factor"),
    (lambda: layers.Normalization(mean=1.0), "both `mean` and `variance`"),
    (lambda: layers.CenterCrop(3, 3, data_format="channels_first"), "channels_last"),
], ids=["interpolation", "crop-and-pad", "height", "rotation-factor", "fill-mode", "zoom-factor", "flip-mode",
        "contrast-factor", "normalization-half", "channels-first"])
def test_bad_arguments_raise_like_keras(make, words):
    with pytest.raises((ValueError, NotImplementedError), match=words):
        make()


def test_resize_weights_sum_to_one_inside_the_image():
    for method in image.RESIZE_METHODS:
        for n_in, n_out in ((6, 9), (8, 3), (5, 5)):
            w = image.resize_weights(n_in, n_out, method)
            np.testing.assert_allclose(w.sum(axis=0), 1.0, atol=1e-5, err_msg=f"{method} {n_in}->{n_out}")
    assert Tensor  # the op's outputs are Tensors (imported for the gradient checks)
