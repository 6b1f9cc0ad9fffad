"""Golden fixtures for the convolution, pooling, normalization, spatial and noise layers, written by Keras 3.

Run with the reference venv (never from the tests):

    KERAS_BACKEND=jax python tools/make_golden_cnn.py

Writes to tests/fixtures/:

* ``cnn_configs.json``: ``configs``: per case the class name, the constructor kwargs and Keras's unbuilt
  ``get_config()``; ``forward``: the forward cases (id, class name, kwargs, input shape, call options).
* ``cnn_forward.npz``: per forward case ``<id>__x`` (input), ``<id>__w<i>`` (the weights, in Keras's order,
  drawn from a seeded NumPy generator), ``<id>__y`` (Keras's output; training mode for ``-train`` cases)
  and ``<id>__mask`` where a mask is passed.
* ``cnn_training.npz``: ``<model>__x``, ``<model>__y``, ``<model>__w_before<i>``, ``<model>__w_after<i>``
  (every weight, moving statistics included) and ``<model>__losses`` for a small CNN trained one SGD step,
  the same CNN two Adam steps, and a Dense+BatchNormalization model two SGD steps (moving statistics).
"""
import json
import os
import pathlib

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"
L = keras.layers

# (id, class, kwargs, input shape (batch included), call kwargs)
FORWARD_CASES = [
    ("conv2d-valid", "Conv2D", {"filters": 4, "kernel_size": 3}, (2, 7, 6, 3), {}),
    ("conv2d-same", "Conv2D", {"filters": 4, "kernel_size": 3, "padding": "same"}, (2, 7, 6, 3), {}),
    ("conv2d-same-k2", "Conv2D", {"filters": 3, "kernel_size": 2, "padding": "same"}, (2, 5, 5, 2), {}),
    ("conv2d-same-s2-even", "Conv2D", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
     (2, 6, 6, 2), {}),
    ("conv2d-same-s2-odd", "Conv2D", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
     (2, 5, 5, 2), {}),
    ("conv2d-strides-21", "Conv2D", {"filters": 5, "kernel_size": [3, 2], "strides": [2, 1]}, (2, 8, 7, 3), {}),
    ("conv2d-dilation", "Conv2D", {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "padding": "same"},
     (2, 9, 8, 3), {}),
    ("conv2d-groups", "Conv2D", {"filters": 6, "kernel_size": 3, "groups": 2, "padding": "same"},
     (2, 6, 5, 4), {}),
    ("conv2d-nobias-tanh", "Conv2D", {"filters": 4, "kernel_size": 2, "use_bias": False, "activation": "tanh"},
     (2, 5, 4, 3), {}),
    ("conv2d-relu-channels9", "Conv2D", {"filters": 8, "kernel_size": 3, "activation": "relu"}, (2, 6, 6, 9), {}),
    ("conv1d-valid", "Conv1D", {"filters": 4, "kernel_size": 3}, (2, 9, 3), {}),
    ("conv1d-same-s2", "Conv1D", {"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same"}, (2, 9, 3), {}),
    ("conv1d-causal-d2", "Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2},
     (2, 9, 3), {}),
    ("conv1d-groups", "Conv1D", {"filters": 4, "kernel_size": 2, "groups": 2, "activation": "relu"},
     (2, 7, 4), {}),
    ("conv2dt-valid-s2", "Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2}, (2, 4, 3, 2), {}),
    ("conv2dt-same-s2", "Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
     (2, 4, 3, 2), {}),
    ("conv2dt-same-k2", "Conv2DTranspose", {"filters": 2, "kernel_size": 2, "padding": "same"}, (2, 4, 4, 3), {}),
    ("conv2dt-valid-s3-k2", "Conv2DTranspose", {"filters": 2, "kernel_size": 2, "strides": 3}, (2, 3, 4, 2), {}),
    ("conv2dt-outpad", "Conv2DTranspose",
     {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1}, (2, 4, 3, 2), {}),
    ("conv2dt-valid-outpad", "Conv2DTranspose",
     {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1}, (2, 3, 3, 2), {}),
    ("conv2dt-dilation", "Conv2DTranspose", {"filters": 2, "kernel_size": 3, "dilation_rate": 2}, (2, 4, 4, 2),
     {}),
    ("depthwise-same", "DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2, "padding": "same"},
     (2, 6, 5, 3), {}),
    ("depthwise-valid-s2", "DepthwiseConv2D", {"kernel_size": 2, "strides": 2}, (2, 6, 5, 3), {}),
    ("separable-same", "SeparableConv2D", {"filters": 4, "kernel_size": 3, "padding": "same"}, (2, 6, 5, 3), {}),
    ("separable-dm2-s2", "SeparableConv2D",
     {"filters": 4, "kernel_size": 3, "strides": 2, "depth_multiplier": 2, "activation": "relu"},
     (2, 7, 7, 3), {}),
    ("maxpool2d-default-odd", "MaxPooling2D", {}, (2, 7, 7, 3), {}),
    ("maxpool2d-same-3s2", "MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 6, 7, 3), {}),
    ("maxpool2d-23-s12", "MaxPooling2D", {"pool_size": [2, 3], "strides": [1, 2]}, (2, 6, 7, 3), {}),
    ("maxpool1d-default", "MaxPooling1D", {}, (2, 9, 3), {}),
    ("maxpool1d-same-3s2", "MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 8, 3), {}),
    ("avgpool2d-2", "AveragePooling2D", {"pool_size": 2}, (2, 7, 6, 3), {}),
    ("avgpool2d-same-3s2", "AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 6, 7, 3),
     {}),
    ("avgpool2d-same-2s1", "AveragePooling2D", {"pool_size": 2, "strides": 1, "padding": "same"}, (2, 4, 5, 3),
     {}),
    ("avgpool1d-same-3s2", "AveragePooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 8, 3), {}),
    ("gap2d", "GlobalAveragePooling2D", {}, (2, 4, 5, 3), {}),
    ("gap2d-keepdims", "GlobalAveragePooling2D", {"keepdims": True}, (2, 4, 5, 3), {}),
    ("gmp2d", "GlobalMaxPooling2D", {}, (2, 4, 5, 3), {}),
    ("gap1d", "GlobalAveragePooling1D", {}, (2, 6, 3), {}),
    ("gap1d-mask", "GlobalAveragePooling1D", {}, (2, 6, 3), {"mask": True}),
    ("gmp1d-keepdims", "GlobalMaxPooling1D", {"keepdims": True}, (2, 6, 3), {}),
    ("zeropad2d", "ZeroPadding2D", {"padding": [[1, 2], [0, 3]]}, (2, 3, 4, 2), {}),
    ("zeropad1d", "ZeroPadding1D", {"padding": [2, 1]}, (2, 3, 2), {}),
    ("crop2d", "Cropping2D", {"cropping": [[1, 0], [2, 1]]}, (2, 5, 6, 2), {}),
    ("crop1d", "Cropping1D", {"cropping": [1, 2]}, (2, 6, 2), {}),
    ("upsample2d", "UpSampling2D", {"size": [2, 3]}, (2, 3, 2, 2), {}),
    ("upsample2d-bilinear", "UpSampling2D", {"size": 2, "interpolation": "bilinear"}, (2, 3, 4, 2), {}),
    ("upsample1d", "UpSampling1D", {"size": 3}, (2, 3, 2), {}),
    ("bn-inference", "BatchNormalization", {}, (4, 3, 5), {}),
    ("bn-train", "BatchNormalization", {}, (4, 3, 5), {"training": True}),
    ("bn-axis1-train", "BatchNormalization", {"axis": 1, "momentum": 0.9, "epsilon": 0.01}, (4, 3, 2, 5),
     {"training": True}),
    ("bn-noscale-train", "BatchNormalization", {"scale": False, "center": False}, (6, 4), {"training": True}),
    ("bn-mask-train", "BatchNormalization", {}, (3, 4, 2), {"training": True, "mask": True}),
    ("ln-last", "LayerNormalization", {}, (3, 4, 5), {}),
    ("ln-axes12", "LayerNormalization", {"axis": [1, 2], "epsilon": 0.01}, (3, 4, 5), {}),
    ("ln-axis1", "LayerNormalization", {"axis": 1, "center": False}, (3, 4, 5), {}),
    ("spatialdropout2d-inference", "SpatialDropout2D", {"rate": 0.5}, (2, 3, 3, 2), {}),
    ("gaussiannoise-inference", "GaussianNoise", {"stddev": 0.3}, (2, 3), {}),
]

CONFIG_CASES = [
    ("conv2d-all", "Conv2D", {"filters": 8, "kernel_size": [3, 2], "strides": 2, "padding": "same",
                              "use_bias": False, "activation": "relu", "kernel_regularizer": "l2",
                              "kernel_constraint": "non_neg", "name": "c0"}),
    ("conv1d-causal", "Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2,
                                 "name": "c1"}),
    ("conv2dt", "Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "output_padding": 1,
                                    "name": "c2"}),
    ("depthwise", "DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2, "name": "c3"}),
    ("separable", "SeparableConv2D", {"filters": 4, "kernel_size": 3, "name": "c4"}),
    ("maxpool2d", "MaxPooling2D", {"name": "p0"}),
    ("maxpool1d", "MaxPooling1D", {"pool_size": 3, "padding": "same", "name": "p1"}),
    ("avgpool2d", "AveragePooling2D", {"pool_size": 2, "strides": 1, "name": "p2"}),
    ("gap1d", "GlobalAveragePooling1D", {"name": "p3"}),
    ("gmp2d", "GlobalMaxPooling2D", {"keepdims": True, "name": "p4"}),
    ("bn", "BatchNormalization", {"momentum": 0.9, "name": "n0"}),
    ("ln", "LayerNormalization", {"axis": [1, 2], "name": "n1"}),
    ("zeropad2d", "ZeroPadding2D", {"padding": 2, "name": "s0"}),
    ("crop2d", "Cropping2D", {"cropping": [1, 2], "name": "s1"}),
    ("upsample2d", "UpSampling2D", {"size": 2, "name": "s2"}),
    ("upsample1d", "UpSampling1D", {"name": "s3"}),
    ("zeropad1d", "ZeroPadding1D", {"name": "s4"}),
    ("crop1d", "Cropping1D", {"name": "s5"}),
    ("spatialdropout1d", "SpatialDropout1D", {"rate": 0.2, "name": "d0"}),
    ("spatialdropout2d", "SpatialDropout2D", {"rate": 0.2, "seed": 3, "name": "d1"}),
    ("gaussiannoise", "GaussianNoise", {"stddev": 0.1, "name": "d2"}),
]


def weights_for(layer, rng):
    values = []
    for w in layer.weights:
        if "variance" in w.path:
            values.append(rng.uniform(0.5, 1.5, w.shape).astype("float32"))
        else:
            values.append((rng.standard_normal(w.shape) * 0.5).astype("float32"))
    return values


def make_forward(rng):
    arrays = {}
    for cid, cls_name, kwargs, shape, call in FORWARD_CASES:
        layer = getattr(L, cls_name)(**kwargs)
        x = rng.standard_normal(shape).astype("float32")
        layer.build(shape)
        weights = weights_for(layer, rng)
        layer.set_weights(weights)
        call_kwargs = {}
        if call.get("training"):
            call_kwargs["training"] = True
        if call.get("mask"):
            mask = np.ones(shape[:-1], dtype=bool)
            mask[0, -2:] = False
            mask[-1, :1] = False
            call_kwargs["mask"] = mask
            arrays[f"{cid}__mask"] = mask
        y = np.asarray(layer(x, **call_kwargs))
        arrays[f"{cid}__x"] = x
        arrays[f"{cid}__y"] = y
        for i, w in enumerate(weights):
            arrays[f"{cid}__w{i}"] = w
        if call.get("training") and cls_name == "BatchNormalization":
            after = [np.asarray(w) for w in layer.weights]
            arrays[f"{cid}__moving_mean"] = after[-2]
            arrays[f"{cid}__moving_variance"] = after[-1]
    return arrays


def small_cnn():
    return keras.Sequential([
        keras.Input((8, 7, 2)),
        L.Conv2D(4, 3, padding="same", activation="relu"),
        L.MaxPooling2D(2),
        L.Conv2D(5, 2, strides=2, padding="same", activation="relu"),
        L.BatchNormalization(),
        L.Flatten(),
        L.Dense(3, activation="softmax"),
    ])


def bn_dense():
    return keras.Sequential([keras.Input((4,)), L.Dense(5), L.BatchNormalization(momentum=0.8), L.Activation("tanh"),
                             L.Dense(2)])


def make_training(rng):
    arrays = {}
    cases = [("cnn_sgd", small_cnn, lambda: keras.optimizers.SGD(0.1), "categorical_crossentropy", 1, (6, 8, 7, 2), 3),
             ("cnn_adam", small_cnn, lambda: keras.optimizers.Adam(0.01), "categorical_crossentropy", 2,
              (6, 8, 7, 2), 3),
             ("bn_dense", bn_dense, lambda: keras.optimizers.SGD(0.05), "mse", 2, (8, 4), 2)]
    for name, build, opt, loss, steps, xshape, classes in cases:
        model = build()
        weights = []
        for w in model.weights:
            if "moving_variance" in w.path:
                weights.append(rng.uniform(0.5, 1.5, w.shape).astype("float32"))
            else:
                weights.append((rng.standard_normal(w.shape) * 0.4).astype("float32"))
        model.set_weights(weights)
        model.compile(optimizer=opt(), loss=loss)
        x = rng.standard_normal(xshape).astype("float32")
        if loss == "mse":
            y = rng.standard_normal((xshape[0], classes)).astype("float32")
        else:
            y = np.eye(classes, dtype="float32")[rng.integers(0, classes, xshape[0])]
        losses = [float(model.train_on_batch(x, y)) for _ in range(steps)]
        arrays[f"{name}__x"] = x
        arrays[f"{name}__y"] = y
        arrays[f"{name}__losses"] = np.asarray(losses, dtype="float32")
        arrays[f"{name}__predict"] = np.asarray(model.predict(x, verbose=0))
        for i, (b, a) in enumerate(zip(weights, model.get_weights())):
            arrays[f"{name}__w_before{i}"] = b
            arrays[f"{name}__w_after{i}"] = a
    return arrays


def make_configs():
    out = []
    for cid, cls_name, kwargs in CONFIG_CASES:
        layer = getattr(L, cls_name)(**kwargs)
        out.append({"id": cid, "class_name": cls_name, "kwargs": kwargs, "config": layer.get_config()})
    return out


def main():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT / "cnn_forward.npz", **make_forward(rng))
    np.savez_compressed(OUT / "cnn_training.npz", **make_training(rng))
    forward = [{"id": cid, "class_name": cls, "kwargs": kwargs, "input_shape": list(shape), "call": call}
               for cid, cls, kwargs, shape, call in FORWARD_CASES]
    with open(OUT / "cnn_configs.json", "w") as f:
        json.dump({"configs": make_configs(), "forward": forward}, f, indent=1, sort_keys=True)
    print("wrote", OUT / "cnn_forward.npz", OUT / "cnn_training.npz", OUT / "cnn_configs.json")


if __name__ == "__main__":
    main()
