"""The three Keras guides in docs/guides/ run on kspec at small sizes and give real numbers (Fashion-MNIST
when installed; each guide falls back to random images otherwise)."""
import math
import os
import runpy

import numpy as np

GUIDES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "guides")


def _guide(name):
    return runpy.run_path(os.path.join(GUIDES, name + ".py"), run_name="guide")


def _have_fashion_mnist():
    import kspec
    try:
        kspec.datasets.fashion_mnist.load_data()
        return True
    except Exception:  # noqa: BLE001
        return False


def _finite_positive(values):
    return all(math.isfinite(v) and v > 0 for v in values)


def test_making_new_layers_and_models_via_subclassing():
    out = _guide("making_new_layers_and_models_via_subclassing")["main"](samples=128, epochs=1, verbose=0)
    assert out["compute_sum"] == [4.0, 4.0], "non-trainable state accumulates over two calls"
    assert out["mlp_weights"] == 6 and out["mlp_trainable_weights"] == 6, "nested layers are tracked"
    assert out["losses_after_zeros"] == 1, "add_loss from an inner layer, reset at each call"
    assert out["config_units"] == 64
    assert out["dropout_inference_is_identity"] and 4 <= out["dropout_training_zeros"] <= 28
    assert _finite_positive([out["loop_mean_loss"], *out["fit_loss"]])


def test_customizing_what_happens_in_fit():
    out = _guide("customizing_what_happens_in_fit")["main"](samples=32, gan_epochs=1, batch_size=32, gan_width=8,
                                                                   verbose=0)
    for key in ("custom", "lower_level", "weighted"):
        history = out[key]
        assert set(history) == {"loss", "mae"}, (key, history)
        assert _finite_positive(history["loss"] + history["mae"]), (key, history)
        assert history["loss"][-1] < history["loss"][0], f"{key}: the custom step trains"
    assert set(out["evaluate"]) == {"loss", "mae"} and _finite_positive(out["evaluate"].values())
    assert set(out["gan"]) == {"d_loss", "g_loss"} and _finite_positive(out["gan"]["d_loss"] + out["gan"]["g_loss"])


def test_writing_a_training_loop_from_scratch():
    out = _guide("writing_a_training_loop_from_scratch")["main"](samples=600, epochs=2, gan_samples=64,
                                                                 gan_width=8, verbose=0)
    history = out["history"]
    assert len(history) == 2 and _finite_positive([h["loss"] for h in history])
    if _have_fashion_mnist():
        assert history[-1]["val_accuracy"] > 0.4, f"the hand-written loop learns Fashion-MNIST: {history}"
    assert np.mean(out["extra_losses"][-3:]) < np.mean(out["extra_losses"][:3]), "the add_loss penalty is minimized"
    assert len(out["gan_losses"]) == 1 and _finite_positive(out["gan_losses"][0])
    assert out["generated"].shape == (64, 28, 28, 1) and 0 <= out["generated"].min() <= out["generated"].max() <= 1
