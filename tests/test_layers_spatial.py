"""Spatial reshaping and noise layers: ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D (nearest and
bilinear), SpatialDropout1D/2D and GaussianNoise, against Keras 3 fixtures (tools/make_golden_cnn.py)."""
import json

import numpy as np
import pytest

from _golden_cnn import (assert_config_matches_keras, assert_gradients, assert_matches_keras, config_cases,
                         forward_cases, ids)
from kspec import backend
from kspec.engine import Tensor
from kspec.layers import (Cropping1D, Cropping2D, GaussianNoise, SpatialDropout1D, SpatialDropout2D, UpSampling1D,
                          UpSampling2D, ZeroPadding1D, ZeroPadding2D)
from kspec.testing import run_layer_test

SPATIAL = ("ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D", "UpSampling1D", "UpSampling2D",
           "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise")
FORWARD = forward_cases(*SPATIAL)
CONFIGS = config_cases(*SPATIAL)


@pytest.mark.parametrize("case", FORWARD, ids=ids(FORWARD))
def test_forward_matches_keras(case):
    assert_matches_keras(case)


@pytest.mark.parametrize("case", FORWARD, ids=ids(FORWARD))
def test_gradients(case):
    assert_gradients(case)


@pytest.mark.parametrize("case", CONFIGS, ids=ids(CONFIGS))
def test_config_matches_keras(case):
    assert_config_matches_keras(case)


LAYER_CASES = [
    (ZeroPadding2D, {"padding": ((1, 0), (2, 1))}, (2, 3, 4, 2), (2, 4, 7, 2)),
    (ZeroPadding1D, {"padding": 2}, (2, 3, 2), (2, 7, 2)),
    (Cropping2D, {"cropping": 1}, (2, 4, 5, 2), (2, 2, 3, 2)),
    (Cropping1D, {"cropping": (0, 2)}, (2, 5, 2), (2, 3, 2)),
    (UpSampling2D, {"size": (2, 1)}, (2, 3, 4, 2), (2, 6, 4, 2)),
    (UpSampling2D, {"interpolation": "bilinear"}, (2, 3, 4, 2), (2, 6, 8, 2)),
    (UpSampling1D, {"size": 3}, (2, 3, 2), (2, 9, 2)),
]


@pytest.mark.parametrize("cls, kwargs, shape, expected", LAYER_CASES,
                         ids=["zeropad2d", "zeropad1d", "crop2d", "crop1d", "upsample2d", "upsample2d-bilinear",
                              "upsample1d"])
def test_layer_harness(cls, kwargs, shape, expected):
    run_layer_test(cls, kwargs, shape, expected_output_shape=expected, supports_masking=False,
                   run_training_check=False)


def test_gaussian_noise_harness():
    run_layer_test(GaussianNoise, {"stddev": 0.2, "seed": 1}, (2, 3, 4), expected_output_shape=(2, 3, 4),
                   supports_masking=True, run_training_check=False)


@pytest.mark.parametrize("cls, shape", [(SpatialDropout1D, (64, 10, 16)), (SpatialDropout2D, (64, 4, 5, 16))],
                         ids=["1d", "2d"])
def test_spatial_dropout_drops_whole_channels(cls, shape):
    backend.set_seed(3)
    x = np.ones(shape, dtype=np.float32)
    out = cls(0.5)(Tensor(x), training=True).data
    per_map = out.reshape(shape[0], -1, shape[-1])
    assert np.all(per_map == per_map[:, :1]), f"{cls.__name__}: a channel is not dropped as a whole"
    assert set(np.unique(out)) <= {0.0, 2.0}, f"{cls.__name__}: values {np.unique(out)}, expected 0 or 2"
    kept = (per_map[:, 0] > 0).mean()
    assert 0.4 < kept < 0.6, f"{cls.__name__}: kept fraction {kept}, expected about 0.5"
    np.testing.assert_array_equal(cls(0.5)(Tensor(x)).data, x, err_msg="inference must be the identity")


@pytest.mark.parametrize("cls", [SpatialDropout1D, SpatialDropout2D], ids=["1d", "2d"])
def test_spatial_dropout_config_round_trip(cls):
    layer = cls(0.3, seed=2, name="sd")
    config = json.loads(json.dumps(layer.get_config()))
    assert cls.from_config(config).get_config() == config, f"{cls.__name__}: config round trip"


def test_gaussian_noise_statistics_and_identity_at_inference():
    backend.set_seed(0)
    x = np.zeros((200, 50), dtype=np.float32)
    out = GaussianNoise(0.3)(Tensor(x), training=True).data
    assert out.dtype == np.float32, f"noise dtype {out.dtype}"
    assert abs(out.std() - 0.3) < 0.01 and abs(out.mean()) < 0.01, f"noise mean {out.mean()}, std {out.std()}"
    np.testing.assert_array_equal(GaussianNoise(0.3)(Tensor(x)).data, x, err_msg="inference must be the identity")


@pytest.mark.parametrize("cls, kwargs", [(ZeroPadding2D, {}), (Cropping2D, {}), (UpSampling2D, {}),
                                         (SpatialDropout2D, {"rate": 0.1})],
                         ids=["zeropad2d", "crop2d", "upsample2d", "spatialdropout2d"])
def test_channels_first_is_a_clear_error(cls, kwargs):
    with pytest.raises(ValueError, match="channels_last"):
        cls(data_format="channels_first", **kwargs)


def test_cropping_larger_than_input_is_an_error():
    with pytest.raises(ValueError, match="cropping"):
        Cropping2D(cropping=2)(Tensor(np.zeros((1, 4, 6, 1), np.float32)))
