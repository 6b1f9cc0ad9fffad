"""Customizing what happens in fit() — Keras's guide, run on kspec with Fashion-MNIST.

The code is Keras 3's (TensorFlow flavour) with ``import kspec as keras`` and ``keras.GradientTape`` in
place of ``tf.GradientTape``. It shows:

* a custom ``train_step(data)`` that uses ``compute_loss`` and the compiled metrics, returning the logs that
  fit's progress bar, History and callbacks show;
* the lower-level recipe: no compiled loss or metrics, your own trackers listed by the ``metrics`` property
  (fit resets them every epoch);
* sample weights, a custom ``test_step``;
* a GAN: a Sequential discriminator and generator inside a ``Model`` subclass, two optimizers, trained by
  ``fit`` on Fashion-MNIST images.

Run it:  python docs/guides/customizing_what_happens_in_fit.py [--samples N] [--epochs E]
"""
import argparse

import numpy as np

import kspec as keras
from kspec import layers, ops


# -- A first simple example ----------------------------------------------------------------------------
class CustomModel(keras.Model):
    def train_step(self, data):
        # Unpack the data. Its structure depends on your model and on what you pass to `fit()`.
        x, y = data
        with keras.GradientTape() as tape:
            y_pred = self(x, training=True)  # Forward pass
            # Compute the loss value (the loss function is configured in `compile()`)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        # Compute gradients
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        # Update weights
        self.optimizer.apply(gradients, trainable_vars)
        # Update metrics (includes the metric that tracks the loss)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        # Return a dict mapping metric names to current value
        return {m.name: m.result() for m in self.metrics}


# -- Going lower-level ----------------------------------------------------------------------------------
class LowerLevelModel(keras.Model):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
        self.loss_fn = keras.losses.MeanSquaredError()

    def train_step(self, data):
        x, y = data
        with keras.GradientTape() as tape:
            y_pred = self(x, training=True)  # Forward pass
            loss = self.loss_fn(y, y_pred)
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        self.optimizer.apply(gradients, trainable_vars)
        # Compute our own metrics
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

    @property
    def metrics(self):
        # We list our `Metric` objects here so that `reset_states()` can be called automatically at the
        # start of each epoch or at the start of `evaluate()`.
        return [self.loss_tracker, self.mae_metric]


# -- Supporting sample_weight & class_weight -------------------------------------------------------------
class WeightedModel(keras.Model):
    def train_step(self, data):
        if len(data) == 3:
            x, y, sample_weight = data
        else:
            sample_weight = None
            x, y = data
        with keras.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        self.optimizer.apply(gradients, trainable_vars)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred, sample_weight=sample_weight)
        return {m.name: m.result() for m in self.metrics}


# -- Providing your own evaluation step -----------------------------------------------------------------
class EvaluatedModel(keras.Model):
    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def regression_model(cls):
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    return cls(inputs, outputs)


# -- Wrapping up: an end-to-end GAN example --------------------------------------------------------------
latent_dim = 128


def make_discriminator(width=128):
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(width // 2, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(width, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.GlobalMaxPooling2D(),
        layers.Dense(1),
    ], name="discriminator")


def make_generator(width=128):
    return keras.Sequential([
        keras.Input(shape=(latent_dim,)),
        # We want to generate `width` coefficients per pixel to reshape into a 7x7xwidth map
        layers.Dense(7 * 7 * width),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Reshape((7, 7, width)),
        layers.Conv2DTranspose(width, (4, 4), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2DTranspose(width, (4, 4), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(1, (7, 7), padding="same", activation="sigmoid"),
    ], name="generator")


class GAN(keras.Model):
    def __init__(self, discriminator, generator, latent_dim):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.seed_generator = keras.random.SeedGenerator(1337)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn

    def train_step(self, real_images):
        if isinstance(real_images, tuple):
            real_images = real_images[0]
        # Sample random points in the latent space
        batch_size = ops.shape(real_images)[0]
        random_latent_vectors = keras.random.normal(shape=(batch_size, self.latent_dim),
                                                    seed=self.seed_generator)
        # Decode them to fake images
        generated_images = self.generator(random_latent_vectors)
        # Combine them with real images
        combined_images = ops.concatenate([generated_images, real_images], axis=0)
        # Assemble labels discriminating real from fake images
        labels = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))], axis=0)
        # Add random noise to the labels - important trick!
        labels += 0.05 * keras.random.uniform(ops.shape(labels), seed=self.seed_generator)

        # Train the discriminator
        with keras.GradientTape() as tape:
            predictions = self.discriminator(combined_images)
            d_loss = self.loss_fn(labels, predictions)
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))

        # Sample random points in the latent space
        random_latent_vectors = keras.random.normal(shape=(batch_size, self.latent_dim),
                                                    seed=self.seed_generator)
        # Assemble labels that say "all real images"
        misleading_labels = ops.zeros((batch_size, 1))

        # Train the generator (note that we should *not* update the weights of the discriminator)!
        with keras.GradientTape() as tape:
            predictions = self.discriminator(self.generator(random_latent_vectors))
            g_loss = self.loss_fn(misleading_labels, predictions)
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))

        # Update metrics and return their value.
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


def load_images(samples):
    """Fashion-MNIST training images, float32 in [0, 1], shaped (N, 28, 28, 1); random images when the
    dataset is not installed, so the guide still runs."""
    try:
        (x_train, _), (x_test, _) = keras.datasets.fashion_mnist.load_data()
        images = np.concatenate([x_train, x_test])
    except Exception as e:  # noqa: BLE001  (any missing-data error)
        print(f"Fashion-MNIST not found ({e}); using random images")
        images = np.random.RandomState(0).randint(0, 256, size=(samples, 28, 28))
    return (images[:samples].astype("float32") / 255.0).reshape(-1, 28, 28, 1)


def main(samples=70000, epochs=1, gan_epochs=1, batch_size=64, gan_width=128, verbose=1):
    """Run every section; ``samples`` and ``gan_width`` (the guide's 128 filters) size the GAN."""
    keras.utils.set_random_seed(0)
    results = {}
    x = np.random.random((1000, 32)).astype("float32")
    y = np.random.random((1000, 1)).astype("float32")

    model = regression_model(CustomModel)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    results["custom"] = model.fit(x, y, epochs=3, verbose=verbose).history

    model = regression_model(LowerLevelModel)
    model.compile(optimizer="adam")  # We don't pass a loss or metrics here.
    results["lower_level"] = model.fit(x, y, epochs=5, verbose=verbose).history

    model = regression_model(WeightedModel)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    sw = np.random.random((1000, 1)).astype("float32")
    results["weighted"] = model.fit(x, y, sample_weight=sw, epochs=3, verbose=verbose).history

    model = regression_model(EvaluatedModel)
    model.compile(loss="mse", metrics=["mae"])
    results["evaluate"] = model.evaluate(x, y, verbose=verbose, return_dict=True)

    # The GAN, on Fashion-MNIST images (train and test images together, as the guide does with MNIST).
    all_images = load_images(samples)
    gan = GAN(discriminator=make_discriminator(gan_width), generator=make_generator(gan_width),
              latent_dim=latent_dim)
    gan.compile(d_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
                g_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
                loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))
    results["gan"] = gan.fit(all_images, epochs=gan_epochs, batch_size=batch_size, verbose=verbose).history
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=70000, help="images for the GAN (default: all)")
    parser.add_argument("--epochs", type=int, default=1, help="GAN epochs")
    parser.add_argument("--width", type=int, default=128, help="GAN filters (the guide's 128)")
    args = parser.parse_args()
    print(main(args.samples, gan_epochs=args.epochs, gan_width=args.width))
