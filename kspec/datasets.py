"""``keras.datasets`` for the built-in image datasets: ``fashion_mnist.load_data()``, ``mnist.load_data()``.

Both read the files :mod:`kspec.data.datasets` finds (``$KSPEC_DATA``, ``~/.keras/datasets``,
``/usr/share/datasets``) and return ``((x_train, y_train), (x_test, y_test))`` as uint8 arrays, as Keras.
"""
import types


def _loader(name):
    def load_data():
        from kspec.data.datasets import load_dataset
        train = load_dataset(name, "train")
        test = load_dataset(name, "test")
        return tuple((x.copy(), y.copy()) for x, y in (train, test))
    load_data.__doc__ = f"``((x_train, y_train), (x_test, y_test))`` of {name} (uint8 images, uint8 labels)."
    return load_data


fashion_mnist = types.SimpleNamespace(load_data=_loader("fashion_mnist"))
mnist = types.SimpleNamespace(load_data=_loader("mnist"))
