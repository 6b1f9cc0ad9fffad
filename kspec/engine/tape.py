"""``GradientTape`` in TensorFlow's style over the engine's reverse-mode graph.

Ops record their backward closures on their outputs whenever a parent needs a gradient (trainable
Variables and watched Tensors do), and an op run inside a tape's ``with`` block is tagged with that tape's
id; :meth:`GradientTape.gradient` walks back from the target through the ops its tape tagged (anything made
outside the block is a constant to it, as in TensorFlow). Unlike
:meth:`Tensor.backward`, it writes no ``.grad`` attribute and frees nothing, so several tapes may share a
graph (a GAN's generator and discriminator tapes) and a persistent tape may ask again.
"""
import contextlib
import itertools

from kspec import backend
from kspec.engine import tensor as tensor_mod
from kspec.engine.tensor import Tensor, topological_order


def gradients(targets, sources, output_gradients=None, tape=None):
    """d(sum of targets)/d(source) for each source: arrays, None where a source is not connected.

    With ``tape`` (an id), only the ops that tape recorded are differentiated; a tensor made outside it is a
    constant there. Gradients add up in the same order as :meth:`Tensor.backward`, so both give the same
    bits.
    """
    xp = backend.xp
    grads = {}
    roots = []
    for i, target in enumerate(targets):
        seed = None if output_gradients is None else output_gradients[i]
        seed = xp.ones_like(target.data) if seed is None else xp.asarray(_data(seed), dtype=target.dtype)
        key = id(target)
        grads[key] = seed if key not in grads else grads[key] + seed
        if target.requires_grad:
            roots.append(target)
    order = _recorded_order(roots, tape)
    wanted = {id(s) for s in sources}
    for node in reversed(order):
        key = id(node)
        g = grads.get(key)
        if g is None or node._backward is None or (tape is not None and tape not in node.tapes):
            continue
        if key not in wanted:
            del grads[key]  # an intermediate: its gradient is spent
        for parent, pg in zip(node._parents, node._backward(g)):
            if pg is None or not parent.requires_grad:
                continue
            pkey = id(parent)
            grads[pkey] = pg if pkey not in grads else grads[pkey] + pg
    return [grads.get(id(s)) for s in sources]


def _recorded_order(roots, tape):
    """The nodes reachable from ``roots`` through ops ``tape`` recorded (all ops when None), parents first."""
    if tape is None:
        if len(roots) == 1:
            return topological_order(roots)
        return topological_order([_Root(roots)])[:-1]
    return topological_order(list(reversed(roots)), lambda node: [
        p for p in node._parents if p.requires_grad] if tape in node.tapes else ())


class _Root:
    """A stand-in node whose parents are several targets, so one topological order covers them all."""

    requires_grad = True
    _backward = None

    def __init__(self, parents):
        self._parents = parents


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _flatten(structure):
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in _flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flatten(item)]
    return [structure]


def _pack(structure, flat):
    """``structure`` with its leaves replaced, in :func:`_flatten` order, by ``flat`` (an iterator)."""
    if isinstance(structure, dict):
        return {key: _pack(structure[key], flat) for key in sorted(structure)}
    if isinstance(structure, (list, tuple)):
        items = [_pack(item, flat) for item in structure]
        return type(structure)(*items) if hasattr(structure, "_fields") else type(structure)(items)
    return next(flat)


_tape_ids = itertools.count(1)


class GradientTape:
    """Record the ops run inside ``with GradientTape() as tape:``; then ``tape.gradient(loss, variables)``.

    Trainable Variables are watched automatically (unless ``watch_accessed_variables=False``); other
    Tensors with :meth:`watch`. Gradients come back as Tensors in the structure of ``sources``, None where a
    source does not reach the target (``unconnected_gradients="zero"`` gives zeros). A tape that is not
    ``persistent`` answers one :meth:`gradient` call; a second one is an error.
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._id = next(_tape_ids)  # tags the ops recorded inside the block (never reused, unlike id())
        self.persistent = persistent
        self.watch_accessed_variables = watch_accessed_variables
        self._watched = []
        self._used = False
        self._recording = False
        self._previous_mode = None

    def __enter__(self):
        self._previous_mode = tensor_mod._grad_enabled
        tensor_mod._grad_enabled = True
        self._start_recording()
        return self

    def __exit__(self, *exc):
        tensor_mod._grad_enabled = self._previous_mode
        self._stop_recording()
        return False

    def _start_recording(self):
        tensor_mod._recording = tensor_mod._recording + (self._id,)
        self._recording = True

    def _stop_recording(self):
        tensor_mod._recording = tuple(t for t in tensor_mod._recording if t != self._id)
        self._recording = False

    def watch(self, tensor):
        """Record gradients with respect to ``tensor`` (a Tensor, or a list or dict of Tensors)."""
        for t in _flatten(tensor):
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.watch takes kspec Tensors, got {type(t).__name__}; wrap arrays "
                                "with kspec.ops.convert_to_tensor(x) first and compute from that Tensor")
            t.requires_grad = True
            self._watched.append(t)

    @contextlib.contextmanager
    def stop_recording(self):
        """A context in which this tape records nothing (what runs there is a constant to it)."""
        if not self._recording:
            raise ValueError("Tape must be recording to stop recording")
        self._stop_recording()
        try:
            yield
        finally:
            self._start_recording()

    def reset(self):
        """Forget what was watched; a fresh tape for the next block."""
        self._watched = []
        self._used = False

    def watched_variables(self):
        return list(self._watched)

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """Gradients of ``target`` (a Tensor, or a list of Tensors whose sum is differentiated) with respect
        to ``sources`` (a Tensor/Variable or a nested list/tuple/dict of them), in that structure."""
        if self._used and not self.persistent:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute one set of gradients "
                               "(or jacobians); create a new tape, or use GradientTape(persistent=True)")
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError(f"unconnected_gradients must be 'none' or 'zero', got {unconnected_gradients!r}")
        self._used = True
        targets = [t for t in _flatten(target)]
        for t in targets:
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.gradient: the target must be a kspec Tensor computed inside the "
                                f"tape's block, got {type(t).__name__}")
        flat_sources = _flatten(sources)
        for s in flat_sources:
            if not isinstance(s, Tensor):
                raise TypeError(f"GradientTape.gradient: sources must be Variables or Tensors, got "
                                f"{type(s).__name__}")
        seeds = None if output_gradients is None else _flatten(output_gradients)
        raw = gradients(targets, flat_sources, seeds, tape=self._id)
        if not self.watch_accessed_variables:
            watched = {id(t) for t in self._watched}
            raw = [g if id(s) in watched else None for g, s in zip(raw, flat_sources)]
        xp = backend.xp
        out = []
        for g, s in zip(raw, flat_sources):
            if g is None and unconnected_gradients == "zero":
                g = xp.zeros_like(s.data)
            out.append(None if g is None else Tensor(g))
        if not self.persistent:
            self._release()
        return _pack(sources, iter(out))

    def _release(self):
        for t in self._watched:
            if not isinstance(t, tensor_mod.Variable):
                t.requires_grad = False
        self._watched = []
