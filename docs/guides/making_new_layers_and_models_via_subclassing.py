"""Making new layers and models via subclassing — Keras's guide, run on kspec with Fashion-MNIST.

The code is Keras 3's with one import changed (``import kspec as keras``). It shows:

* a ``Layer`` holding weights (``add_weight``), with non-trainable state updated by ``assign_add``;
* weights created lazily in ``build(input_shape)``;
* layers nested as attributes (tracked, in assignment order), and ``add_loss`` for extra losses;
* ``get_config`` for serialization, and the privileged ``training`` argument;
* ``Model`` subclasses, ending with a variational autoencoder trained on Fashion-MNIST, first with a loop
  written by hand (``kspec.GradientTape``), then with ``fit``.

Run it:  python docs/guides/making_new_layers_and_models_via_subclassing.py [--samples N] [--epochs E]
"""
import argparse

import numpy as np

import kspec as keras
from kspec import ops


# -- The Layer class: the combination of state (weights) and some computation ---------------------------
class Linear(keras.layers.Layer):
    def __init__(self, units=32, input_dim=32):
        super().__init__()
        self.w = self.add_weight(shape=(input_dim, units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


# -- Layers can have non-trainable weights ----------------------------------------------------------------
class ComputeSum(keras.layers.Layer):
    def __init__(self, input_dim):
        super().__init__()
        self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)

    def call(self, inputs):
        self.total.assign_add(ops.sum(inputs, axis=0))
        return self.total


# -- Best practice: deferring weight creation until the shape of the inputs is known ----------------------
class LazyLinear(keras.layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal",
                                 trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


# -- Layers are recursively composable ------------------------------------------------------------------
class MLPBlock(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.linear_1 = LazyLinear(32)
        self.linear_2 = LazyLinear(32)
        self.linear_3 = LazyLinear(1)

    def call(self, inputs):
        x = self.linear_1(inputs)
        x = ops.relu(x)
        x = self.linear_2(x)
        x = ops.relu(x)
        return self.linear_3(x)


# -- The add_loss() method ------------------------------------------------------------------------------
class ActivityRegularizationLayer(keras.layers.Layer):
    def __init__(self, rate=1e-2):
        super().__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.mean(inputs))
        return inputs


class OuterLayer(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.activity_reg = ActivityRegularizationLayer(1e-2)

    def call(self, inputs):
        return self.activity_reg(inputs)


# -- Privileged training argument in the call() method ----------------------------------------------------
class CustomDropout(keras.layers.Layer):
    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs, training=None):
        if training:
            return keras.random.dropout(inputs, rate=self.rate, seed=self.seed_generator)
        return inputs


# -- Putting it all together: an end-to-end example (a variational autoencoder) ---------------------------
class Sampling(keras.layers.Layer):
    """Uses (z_mean, z_log_var) to sample z, the vector encoding an image."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


class Encoder(keras.layers.Layer):
    """Maps images to a triplet (z_mean, z_log_var, z)."""

    def __init__(self, latent_dim=32, intermediate_dim=64, name="encoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dense_proj = keras.layers.Dense(intermediate_dim, activation="relu")
        self.dense_mean = keras.layers.Dense(latent_dim)
        self.dense_log_var = keras.layers.Dense(latent_dim)
        self.sampling = Sampling()

    def call(self, inputs):
        x = self.dense_proj(inputs)
        z_mean = self.dense_mean(x)
        z_log_var = self.dense_log_var(x)
        z = self.sampling((z_mean, z_log_var))
        return z_mean, z_log_var, z


class Decoder(keras.layers.Layer):
    """Converts z, the encoded vector, back into a readable image."""

    def __init__(self, original_dim, intermediate_dim=64, name="decoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dense_proj = keras.layers.Dense(intermediate_dim, activation="relu")
        self.dense_output = keras.layers.Dense(original_dim, activation="sigmoid")

    def call(self, inputs):
        x = self.dense_proj(inputs)
        return self.dense_output(x)


class VariationalAutoEncoder(keras.Model):
    """Combines the encoder and decoder into an end-to-end model for training."""

    def __init__(self, original_dim, intermediate_dim=64, latent_dim=32, name="autoencoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.original_dim = original_dim
        self.encoder = Encoder(latent_dim=latent_dim, intermediate_dim=intermediate_dim)
        self.decoder = Decoder(original_dim, intermediate_dim=intermediate_dim)

    def call(self, inputs):
        z_mean, z_log_var, z = self.encoder(inputs)
        reconstructed = self.decoder(z)
        # Add KL divergence regularization loss.
        kl_loss = -0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1)
        self.add_loss(kl_loss)
        return reconstructed


def load_images(samples):
    """``samples`` Fashion-MNIST training images as float32 rows in [0, 1] (random images when the dataset
    is not installed, so the guide still runs)."""
    try:
        (x_train, _), _ = keras.datasets.fashion_mnist.load_data()
    except Exception as e:  # noqa: BLE001  (any missing-data error)
        print(f"Fashion-MNIST not found ({e}); using random images")
        x_train = np.random.RandomState(0).randint(0, 256, size=(samples, 28, 28))
    return x_train[:samples].reshape(-1, 784).astype("float32") / 255


def main(samples=60000, epochs=2, batch_size=64, verbose=1):
    keras.utils.set_random_seed(0)
    results = {}

    linear_layer = Linear(units=4, input_dim=2)
    y = linear_layer(ops.ones((2, 2)))
    assert len(linear_layer.weights) == 2 and ops.shape(y) == (2, 4)

    my_sum = ComputeSum(2)
    x = ops.ones((2, 2))
    my_sum(x)
    y = my_sum(x)
    results["compute_sum"] = ops.convert_to_numpy(y).tolist()  # [4.0, 4.0]
    assert len(my_sum.non_trainable_weights) == 1 and not my_sum.trainable_weights

    mlp = MLPBlock()
    y = mlp(ops.ones(shape=(3, 64)))  # The first call to the `mlp` will create the weights
    results["mlp_weights"] = len(mlp.weights)  # 6
    results["mlp_trainable_weights"] = len(mlp.trainable_weights)  # 6

    layer = OuterLayer()
    _ = layer(ops.zeros((1, 1)))
    results["losses_after_zeros"] = len(layer.losses)  # 1 (reset at the start of each call)

    config = LazyLinear(64).get_config()
    results["config_units"] = LazyLinear.from_config(config).units

    dropout = CustomDropout(0.5)
    ones = ops.ones((4, 8))
    results["dropout_inference_is_identity"] = bool(np.all(ops.convert_to_numpy(dropout(ones)) == 1))
    results["dropout_training_zeros"] = int((ops.convert_to_numpy(dropout(ones, training=True)) == 0).sum())

    # The VAE, trained with a hand-written loop, then with fit().
    x_train = load_images(samples)
    original_dim = 784
    vae = VariationalAutoEncoder(original_dim, 64, 32)
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    mse_loss_fn = keras.losses.MeanSquaredError()
    loss_metric = keras.metrics.Mean()
    for epoch in range(epochs):
        for step in range(-(-len(x_train) // batch_size)):
            x_batch_train = x_train[step * batch_size:(step + 1) * batch_size]
            with keras.GradientTape() as tape:
                reconstructed = vae(x_batch_train)
                loss = mse_loss_fn(x_batch_train, reconstructed)
                loss += sum(vae.losses)  # Add KLD regularization loss
            grads = tape.gradient(loss, vae.trainable_weights)
            optimizer.apply_gradients(zip(grads, vae.trainable_weights))
            loss_metric.update_state(loss)
            if verbose and step % 100 == 0:
                print(f"epoch {epoch} step {step}: mean loss = {float(loss_metric.result()):.4f}")
    results["loop_mean_loss"] = float(loss_metric.result())

    vae = VariationalAutoEncoder(784, 64, 32)
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=keras.losses.MeanSquaredError())
    history = vae.fit(x_train, x_train, epochs=epochs, batch_size=batch_size, verbose=verbose)
    results["fit_loss"] = history.history["loss"]
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60000, help="training images to use (default: all)")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    print(main(args.samples, args.epochs))
