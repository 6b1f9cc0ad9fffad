"""Writing a training loop from scratch — Keras's guide, run on kspec with Fashion-MNIST.

The code is Keras 3's (TensorFlow flavour) with ``import kspec as keras`` and ``keras.GradientTape`` in
place of ``tf.GradientTape``; batches come from NumPy slicing instead of ``tf.data``. It shows:

* a loop over epochs and batches: forward pass under a tape, ``tape.gradient``,
  ``optimizer.apply_gradients``;
* metrics updated by hand and reset at the end of each epoch, and a validation loop;
* extra losses from ``add_loss`` (``model.losses``) added to the loss;
* an end-to-end GAN trained with a hand-written loop.

Run it:  python docs/guides/writing_a_training_loop_from_scratch.py [--samples N] [--epochs E]
"""
import argparse
import time

import numpy as np

import kspec as keras
from kspec import layers, ops


def get_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x1 = keras.layers.Dense(64, activation="relu")(inputs)
    x2 = keras.layers.Dense(64, activation="relu")(x1)
    outputs = keras.layers.Dense(10, name="predictions")(x2)
    return keras.Model(inputs=inputs, outputs=outputs)


def load_data(samples):
    """Fashion-MNIST as float32 rows in [0, 1] and integer labels: ``samples`` training images, and
    validation images held out from them as the guide does (random data when the dataset is absent)."""
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    except Exception as e:  # noqa: BLE001  (any missing-data error)
        print(f"Fashion-MNIST not found ({e}); using random images")
        rs = np.random.RandomState(0)
        x_train, y_train = rs.randint(0, 256, (samples, 28, 28)), rs.randint(0, 10, samples)
        x_test, y_test = x_train[:100], y_train[:100]
    x_train = np.reshape(x_train, (-1, 784)).astype("float32") / 255
    x_test = np.reshape(x_test, (-1, 784)).astype("float32") / 255
    x_train, y_train = x_train[:samples], y_train[:samples].astype("int32")
    n_val = max(1, len(x_train) // 6)  # the guide reserves 10,000 of 60,000 samples for validation
    return (x_train[:-n_val], y_train[:-n_val]), (x_train[-n_val:], y_train[-n_val:]), (x_test, y_test)


def batches(x, y, batch_size, shuffle_rng=None):
    order = np.arange(len(x)) if shuffle_rng is None else shuffle_rng.permutation(len(x))
    for start in range(0, len(x), batch_size):
        index = order[start:start + batch_size]
        yield x[index], y[index]


def train_with_metrics(train, val, epochs, batch_size, verbose):
    """The guide's loop with a training metric, a validation loop and timing."""
    model = get_model()
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    train_acc_metric = keras.metrics.SparseCategoricalAccuracy()
    val_acc_metric = keras.metrics.SparseCategoricalAccuracy()
    rng = np.random.RandomState(0)
    history = []
    for epoch in range(epochs):
        start_time = time.time()
        for step, (x_batch_train, y_batch_train) in enumerate(batches(*train, batch_size, rng)):
            with keras.GradientTape() as tape:
                logits = model(x_batch_train, training=True)
                loss_value = loss_fn(y_batch_train, logits)
            grads = tape.gradient(loss_value, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            train_acc_metric.update_state(y_batch_train, logits)
            if verbose and step % 200 == 0:
                print(f"Training loss (for 1 batch) at step {step}: {float(loss_value):.4f}")
        train_acc = float(train_acc_metric.result())
        train_acc_metric.reset_state()
        for x_batch_val, y_batch_val in batches(*val, batch_size):
            val_logits = model(x_batch_val, training=False)
            val_acc_metric.update_state(y_batch_val, val_logits)
        val_acc = float(val_acc_metric.result())
        val_acc_metric.reset_state()
        if verbose:
            print(f"epoch {epoch}: training acc {train_acc:.4f}, validation acc {val_acc:.4f}, "
                  f"time {time.time() - start_time:.2f}s")
        history.append({"loss": float(loss_value), "accuracy": train_acc, "val_accuracy": val_acc})
    return model, history


class ActivityRegularizationLayer(keras.layers.Layer):
    def call(self, inputs):
        self.add_loss(1e-2 * ops.sum(inputs))
        return inputs


def train_with_extra_losses(train, batch_size):
    """Losses created by layers during the forward pass (``add_loss``) join the loss being minimized."""
    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu")(inputs)
    x = ActivityRegularizationLayer()(x)  # Insert activity regularization as a layer
    x = keras.layers.Dense(64, activation="relu")(x)
    outputs = keras.layers.Dense(10, name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    losses = []
    for x_batch, y_batch in batches(*train, batch_size):
        with keras.GradientTape() as tape:
            logits = model(x_batch, training=True)
            loss_value = loss_fn(y_batch, logits)
            # Add any extra losses created during the forward pass.
            loss_value += sum(model.losses)
        grads = tape.gradient(loss_value, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        losses.append(float(loss_value))
    return losses


# -- End-to-end example: a GAN training loop from scratch ------------------------------------------------
latent_dim = 128


def make_gan(width=128):
    discriminator = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(width // 2, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(width, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.GlobalMaxPooling2D(),
        layers.Dense(1),
    ], name="discriminator")
    generator = keras.Sequential([
        keras.Input(shape=(latent_dim,)),
        layers.Dense(7 * 7 * width),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Reshape((7, 7, width)),
        layers.Conv2DTranspose(width, (4, 4), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2DTranspose(width, (4, 4), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(1, (7, 7), padding="same", activation="sigmoid"),
    ], name="generator")
    return discriminator, generator


def train_gan(images, epochs, batch_size, verbose, width=128):
    discriminator, generator = make_gan(width)
    d_optimizer = keras.optimizers.Adam(learning_rate=0.0003)
    g_optimizer = keras.optimizers.Adam(learning_rate=0.0004)
    loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
    seed_generator = keras.random.SeedGenerator(1337)

    def train_step(real_images):
        # Sample random points in the latent space and decode them to fake images
        n = ops.shape(real_images)[0]
        random_latent_vectors = keras.random.normal(shape=(n, latent_dim), seed=seed_generator)
        generated_images = generator(random_latent_vectors)
        combined_images = ops.concatenate([generated_images, real_images], axis=0)
        labels = ops.concatenate([ops.ones((n, 1)), ops.zeros((n, 1))], axis=0)
        labels += 0.05 * keras.random.uniform(ops.shape(labels), seed=seed_generator)

        # Train the discriminator
        with keras.GradientTape() as tape:
            predictions = discriminator(combined_images)
            d_loss = loss_fn(labels, predictions)
        grads = tape.gradient(d_loss, discriminator.trainable_weights)
        d_optimizer.apply_gradients(zip(grads, discriminator.trainable_weights))

        # Train the generator (without updating the discriminator's weights)
        random_latent_vectors = keras.random.normal(shape=(n, latent_dim), seed=seed_generator)
        misleading_labels = ops.zeros((n, 1))
        with keras.GradientTape() as tape:
            predictions = discriminator(generator(random_latent_vectors))
            g_loss = loss_fn(misleading_labels, predictions)
        grads = tape.gradient(g_loss, generator.trainable_weights)
        g_optimizer.apply_gradients(zip(grads, generator.trainable_weights))
        return d_loss, g_loss, generated_images

    losses = []
    for epoch in range(epochs):
        for step in range(-(-len(images) // batch_size)):
            d_loss, g_loss, generated_images = train_step(images[step * batch_size:(step + 1) * batch_size])
            losses.append((float(d_loss), float(g_loss)))
            if verbose and step % 100 == 0:
                print(f"epoch {epoch} step {step}: discriminator loss {float(d_loss):.2f}, "
                      f"adversarial loss {float(g_loss):.2f}")
    return losses, ops.convert_to_numpy(generated_images)


def main(samples=60000, epochs=2, gan_samples=60000, gan_epochs=1, batch_size=32, gan_width=128, verbose=1):
    """Run every section; ``samples``, ``gan_samples`` and ``gan_width`` (the guide's 128 filters) size it."""
    keras.utils.set_random_seed(0)
    train, val, _ = load_data(samples)
    _, history = train_with_metrics(train, val, epochs, batch_size, verbose)
    extra = train_with_extra_losses(train, batch_size)
    gan_images = np.reshape(train[0][:gan_samples], (-1, 28, 28, 1))
    gan_losses, generated = train_gan(gan_images, gan_epochs, 64, verbose, gan_width)
    return {"history": history, "extra_losses": extra, "gan_losses": gan_losses, "generated": generated}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60000, help="training images (default: all)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--gan-samples", type=int, default=60000)
    parser.add_argument("--width", type=int, default=128, help="GAN filters (the guide's 128)")
    args = parser.parse_args()
    out = main(args.samples, args.epochs, args.gan_samples, gan_width=args.width)
    print({"history": out["history"], "gan_last_losses": out["gan_losses"][-1]})
