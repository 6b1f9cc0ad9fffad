"""Shared pieces of the CNN-layer tests: the Keras 3 fixtures of tools/make_golden_cnn.py, and helpers to
rebuild each fixture case in kspec, compare it with Keras, and gradient-check it in float64."""
import json
import os

import numpy as np

from kspec import registry
from kspec.engine import Tensor
from kspec.layers import clear_session
from kspec.testing import check_backward, to_float64

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
with open(os.path.join(FIXTURES, "cnn_configs.json"), encoding="utf-8") as f:
    _META = json.load(f)
FORWARD = np.load(os.path.join(FIXTURES, "cnn_forward.npz"))
TRAINING = np.load(os.path.join(FIXTURES, "cnn_training.npz"))
CONFIG_CASES = _META["configs"]
FORWARD_CASES = _META["forward"]


def forward_cases(*class_names):
    return [c for c in FORWARD_CASES if c["class_name"] in class_names]


def config_cases(*class_names):
    return [c for c in CONFIG_CASES if c["class_name"] in class_names]


def ids(cases):
    return [c["id"] for c in cases]


def build_case(case):
    """The kspec layer of a fixture case, built, with the fixture's weights; returns (layer, x, mask)."""
    clear_session()
    cid = case["id"]
    layer = registry.lookup("layer", case["class_name"])(**case["kwargs"])
    x = FORWARD[f"{cid}__x"]
    layer.ensure_built((None,) + x.shape[1:])
    weights = []
    i = 0
    while f"{cid}__w{i}" in FORWARD:
        weights.append(FORWARD[f"{cid}__w{i}"])
        i += 1
    layer.set_weights(weights)
    mask = FORWARD[f"{cid}__mask"] if f"{cid}__mask" in FORWARD else None
    return layer, x, mask


def call_case(case, layer, x, mask):
    training = bool(case["call"].get("training"))
    return layer(Tensor(x), training=training, mask=mask)


def assert_matches_keras(case, rtol=1e-5, atol=1e-5):
    """Forward output (and BatchNormalization's moving statistics after a training call) equal Keras's."""
    layer, x, mask = build_case(case)
    out = call_case(case, layer, x, mask)
    cid = case["id"]
    expected = FORWARD[f"{cid}__y"]
    assert out.data.dtype == np.float32, f"{cid}: output dtype {out.data.dtype}, expected float32"
    assert out.shape == expected.shape, f"{cid}: output shape {out.shape}, Keras {expected.shape}"
    np.testing.assert_allclose(out.data, expected, rtol=rtol, atol=atol, err_msg=f"{cid}: output differs from Keras")
    declared = layer.compute_output_shape((None,) + x.shape[1:])
    assert tuple(declared[1:]) == expected.shape[1:], \
        f"{cid}: compute_output_shape {declared} does not match Keras's output {expected.shape}"
    if f"{cid}__moving_mean" in FORWARD:
        np.testing.assert_allclose(layer.moving_mean.data, FORWARD[f"{cid}__moving_mean"], rtol=1e-6, atol=1e-7,
                                   err_msg=f"{cid}: moving_mean after the training call differs from Keras")
        np.testing.assert_allclose(layer.moving_variance.data, FORWARD[f"{cid}__moving_variance"], rtol=1e-6,
                                   atol=1e-7, err_msg=f"{cid}: moving_variance after the training call differs")


def assert_gradients(case):
    """float64 directional gradient check of the fixture case (input and every trainable weight)."""
    layer, x, mask = build_case(case)
    to_float64(layer)
    training = bool(case["call"].get("training"))

    def fn(t):
        return layer(t, training=training, mask=mask)

    check_backward(fn, [x.astype(np.float64)], params=layer.trainable_weights)


def assert_config_matches_keras(case):
    """kspec's get_config equals Keras's (unbuilt) and from_config round-trips it."""
    cls = registry.lookup("layer", case["class_name"])
    layer = cls(**case["kwargs"])
    config = json.loads(json.dumps(layer.get_config()))
    assert config == case["config"], f"{case['id']}: config differs from Keras's:\nkspec {config}\nkeras " \
                                     f"{case['config']}"
    revived = cls.from_config(case["config"])
    assert json.loads(json.dumps(revived.get_config())) == case["config"], \
        f"{case['id']}: from_config(Keras config).get_config() differs"
