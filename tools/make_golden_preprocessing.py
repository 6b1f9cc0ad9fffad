"""Golden fixtures for the preprocessing and augmentation layers, from Keras 3.15.1 on JAX.

Run: KERAS_BACKEND=jax python tools/make_golden_preprocessing.py
Writes tests/fixtures/preprocessing_golden.npz (inputs and Keras's outputs per case) and
tests/fixtures/preprocessing_configs.json (per case: the layer class, its arguments and Keras's get_config()
without dtype). The deterministic layers are compared output to output; the random ones through Keras's own
``keras.ops.image.affine_transform`` with fixed rotation, zoom and translation matrices (the transforms the
layers draw), and through their inference outputs.
"""
import json
import math
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from _golden import pyify  # noqa: E402

L = keras.layers
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(os.path.dirname(HERE), "tests", "fixtures")
rng = np.random.default_rng(0)
IMAGES = rng.uniform(0, 255, size=(2, 6, 8, 3)).astype("float32")
SMALL = rng.uniform(0, 1, size=(2, 5, 7, 2)).astype("float32")
FEATURES = rng.normal(2.0, 3.0, size=(20, 4)).astype("float32")
arrays = {"images": IMAGES, "small": SMALL, "features": FEATURES}
cases = {}


def layer_case(name, cls, kwargs, x_key, training=False, adapt=None):
    layer = getattr(L, cls)(**kwargs)
    if adapt is not None:
        layer.adapt(arrays[adapt])
    out = layer(arrays[x_key], training=training)
    if cls == "RandomCrop" and not training:
        # Keras 3.15.1 returns the input unchanged here (its transform_images crops only in training), which
        # contradicts its docstring and compute_output_shape and breaks predict; the documented inference
        # output, smart_resize to (height, width), is the golden.
        out = keras.preprocessing.image.smart_resize(arrays[x_key], (kwargs["height"], kwargs["width"]))
    arrays[f"{name}/out"] = np.asarray(out)
    config = layer.get_config()
    config.pop("dtype", None)
    cases[name] = {"class": cls, "kwargs": kwargs, "input": x_key, "training": training, "adapt": adapt,
                   "config": config}


layer_case("rescaling", "Rescaling", {"scale": 1 / 127.5, "offset": -1.0}, "images")
layer_case("rescaling_list", "Rescaling", {"scale": [0.5, 2.0, 1.0]}, "images")
for method in ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5"):
    layer_case(f"resize_up_{method}", "Resizing", {"height": 9, "width": 13, "interpolation": method}, "images")
    layer_case(f"resize_down_{method}", "Resizing", {"height": 4, "width": 3, "interpolation": method}, "images")
layer_case("resize_down_antialias", "Resizing", {"height": 3, "width": 5, "antialias": True}, "images")
layer_case("resize_crop_aspect", "Resizing", {"height": 4, "width": 4, "crop_to_aspect_ratio": True}, "images")
layer_case("resize_pad_aspect", "Resizing", {"height": 4, "width": 4, "pad_to_aspect_ratio": True,
                                             "fill_value": 7.0}, "images")
layer_case("resize_pad_aspect_wide", "Resizing", {"height": 2, "width": 8, "pad_to_aspect_ratio": True},
           "images")
layer_case("center_crop", "CenterCrop", {"height": 3, "width": 4}, "images")
layer_case("center_crop_odd", "CenterCrop", {"height": 5, "width": 5}, "images")
layer_case("center_crop_larger", "CenterCrop", {"height": 8, "width": 8}, "images")
layer_case("normalization_adapt", "Normalization", {}, "features", adapt="features")
layer_case("normalization_adapt_none", "Normalization", {"axis": None}, "features", adapt="features")
layer_case("normalization_images_channels", "Normalization", {"axis": -1}, "images", adapt="images")
layer_case("normalization_images_rows", "Normalization", {"axis": [1, 3]}, "images", adapt="images")
layer_case("normalization_given", "Normalization", {"mean": [1.0, 2.0, 3.0, 4.0], "variance": [1.0, 4.0, 0.25, 9.0]},
           "features")
layer_case("normalization_invert", "Normalization", {"mean": 2.0, "variance": 9.0, "invert": True}, "features")
layer_case("random_crop_inference", "RandomCrop", {"height": 4, "width": 5, "seed": 3}, "images")
layer_case("random_crop_inference_larger", "RandomCrop", {"height": 8, "width": 8, "seed": 3}, "images")
for cls, kwargs in [("RandomFlip", {"seed": 1}), ("RandomFlip", {"mode": "vertical"}),
                    ("RandomRotation", {"factor": 0.2, "seed": 1}),
                    ("RandomRotation", {"factor": [-0.1, 0.3], "fill_mode": "constant", "fill_value": 5.0,
                                        "interpolation": "nearest"}),
                    ("RandomZoom", {"height_factor": 0.2, "seed": 1}),
                    ("RandomZoom", {"height_factor": [-0.3, -0.1], "width_factor": [0.1, 0.2], "fill_mode": "wrap"}),
                    ("RandomTranslation", {"height_factor": 0.1, "width_factor": [-0.2, 0.3]}),
                    ("RandomContrast", {"factor": 0.2, "seed": 1}),
                    ("RandomContrast", {"factor": [0.1, 0.5], "value_range": [0, 1]}),
                    ("RandomCrop", {"height": 4, "width": 4, "seed": 5})]:
    name = f"{cls}_{len([c for c in cases if c.startswith(cls)])}"
    layer_case(name, cls, kwargs, "images", training=False)  # inference: identity (RandomCrop: centre)


def rotation(angle, h, w):
    a = math.radians(angle)
    cx, cy = 0.5 * (w - 1), 0.5 * (h - 1)
    a0, a1, b0, b1 = math.cos(a), -math.sin(a), math.sin(a), math.cos(a)
    return [a0, a1, cx - cx * a0 - cy * a1, b0, b1, cy - cx * b0 - cy * b1, 0, 0]


transforms = np.array([rotation(30.0, 6, 8), rotation(-75.0, 6, 8)], dtype="float32")
zoom = np.array([[1.3, 0, 3.5 * (1 - 1.3), 0, 0.8, 2.5 * (1 - 0.8), 0, 0],
                 [0.7, 0, 3.5 * 0.3, 0, 0.7, 2.5 * 0.3, 0, 0]], dtype="float32")
shift = np.array([[1, 0, -2.5, 0, 1, 1.25, 0, 0], [1, 0, 3.0, 0, 1, -4.0, 0, 0]], dtype="float32")
arrays["affine/transforms"] = np.stack([transforms, zoom, shift])
for t_index, t_name in enumerate(("rotation", "zoom", "shift")):
    for mode in ("constant", "nearest", "wrap", "mirror", "reflect"):
        for interpolation in ("bilinear", "nearest"):
            out = keras.ops.image.affine_transform(IMAGES, arrays["affine/transforms"][t_index], interpolation=interpolation,
                                                   fill_mode=mode, fill_value=3.0)
            arrays[f"affine/{t_name}/{mode}/{interpolation}"] = np.asarray(out)

np.savez(os.path.join(FIXTURES, "preprocessing_golden.npz"), **arrays)
with open(os.path.join(FIXTURES, "preprocessing_configs.json"), "w") as f:
    json.dump(pyify(cases), f, indent=1)
print(f"{len(cases)} layer cases, {len([k for k in arrays if k.startswith('affine/')])} affine cases")
