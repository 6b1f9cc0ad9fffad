"""kspec twins of the graphs in tools/make_golden_functional.py (same names, same wiring)."""
from kspec.layers import (Add, Average, Concatenate, Dense, Dot, Embedding, Flatten, GlobalAveragePooling1D,
                          Maximum, Minimum, Multiply, Subtract)
from kspec.models import Functional, Input


def two_input():
    image = Input((4, 4, 1), name="image")
    meta = Input((3,), name="meta")
    flat = Flatten(name="flat")(image)
    h = Dense(8, activation="relu", name="h")(flat)
    both = Concatenate(name="both")([h, meta])
    out = Dense(3, activation="softmax", name="out")(both)
    return Functional([image, meta], out, name="two_input")


def residual_mlp():
    x = Input((6,), name="x")
    d0 = Dense(8, activation="relu", name="d0")(x)
    d1 = Dense(8, activation="relu", name="d1")(d0)
    r1 = Add(name="r1")([d0, d1])
    d2 = Dense(8, activation="tanh", name="d2")(r1)
    r2 = Add(name="r2")([r1, d2])
    out = Dense(1, name="out")(r2)
    return Functional(x, out, name="residual_mlp")


def siamese():
    left = Input((5,), name="left")
    right = Input((5,), name="right")
    enc = Dense(4, activation="tanh", name="enc")
    el, er = enc(left), enc(right)
    diff = Subtract(name="diff")([el, er])
    cos = Dot(axes=1, normalize=True, name="cos")([el, er])
    prod = Multiply(name="prod")([el, er])
    feats = Concatenate(name="feats")([diff, cos, prod])
    out = Dense(1, activation="sigmoid", name="out")(feats)
    return Functional([left, right], out, name="siamese")


def two_output():
    x = Input((5,), name="x")
    h = Dense(8, activation="relu", name="h")(x)
    avg = Average(name="avg")([h, Dense(8, name="h2")(x)])
    out_a = Dense(3, activation="softmax", name="out_a")(avg)
    out_b = Dense(1, name="out_b")(Maximum(name="mx")([h, avg]))
    return Functional(x, [out_a, out_b], name="two_output")


def masked():
    tokens = Input((6,), dtype="int32", name="tokens")
    emb = Embedding(10, 4, mask_zero=True, name="emb")(tokens)
    proj = Dense(4, name="proj")(emb)
    summed = Add(name="sum")([emb, proj])
    mn = Minimum(name="mn")([summed, proj])
    pooled = GlobalAveragePooling1D(name="pool")(mn)
    out = Dense(2, activation="softmax", name="out")(pooled)
    return Functional(tokens, out, name="masked")
