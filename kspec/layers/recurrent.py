"""Recurrent layers: SimpleRNN, LSTM and GRU, with Keras 3's arguments, weights and mask semantics.

Weights (Keras names and layouts): kernel (D, G*U), recurrent_kernel (U, G*U), bias (G*U,) — for GRU with
``reset_after`` (2, 3U) — with gate blocks i, f, c, o (LSTM) and z, r, h (GRU); their Keras variable paths
are ``<layer>/<layer>_cell/<weight>``. Input (N, T, D); output (N, U), or (N, T, U) with ``return_sequences``;
``return_state`` adds the final states (h; h and c for the LSTM).

Masks (Keras 3's ``backend.rnn``): at a masked step the states carry over and the output repeats the previous
one (zeros with ``zero_output_for_mask``, which Bidirectional turns on with return_sequences); the mask
passes on with ``return_sequences`` and is dropped without it. ``go_backwards`` reads the sequence reversed
and returns outputs in processing order.

The sequence ops of :mod:`kspec.engine.ops.recurrent` run the common case; training with
``recurrent_dropout`` (Keras's per-gate dropout masks) or an activation they do not know runs a per-step
loop of engine ops instead (also the reference the tests compare the fast ops with).
"""
from kspec import activations, backend, constraints, initializers, regularizers
from kspec.backend import comm
from kspec.engine import Tensor, as_tensor, ops
from kspec.engine.ops import recurrent as rnn_ops
from kspec.layers.base import Layer, current_path
from kspec.registry import register


def activation_name(fn):
    """The name of ``fn`` among the activations the sequence ops run in place, or None."""
    for name in rnn_ops.ACTIVATIONS:
        if activations.get(name) is fn:
            return name
    return None


def _float_input(inputs):
    x = as_tensor(inputs)
    if x.dtype.kind != "f":
        x = Tensor(x.data.astype(backend.floatx))
    return x


class RNN(Layer):
    """Shared machinery of SimpleRNN, LSTM and GRU (not registered: kspec has no custom cells).

    Args:
        units: Positive integer, the size of the hidden state and of the output.
        activation: The activation of the output and candidate state (tanh by default).
        recurrent_activation: The activation of the gates (sigmoid by default).
        recurrent_initializer: How the recurrent kernel (state-to-state weights) is initialized.
        recurrent_regularizer: A penalty on the recurrent kernel, added to the loss.
        recurrent_constraint: A constraint applied to the recurrent kernel after each step.
        dropout: The fraction of the inputs dropped during training, in [0, 1).
        recurrent_dropout: The fraction of the recurrent state dropped during training, in [0, 1).
        return_sequences: Whether to return the output of every step (batch, steps, units) instead of the last
            one (batch, units).
        return_state: Whether to also return the final state(s) after the output.
        go_backwards: Whether to read the sequence backwards.
        stateful: Whether each batch's final state is the next batch's initial state.
        unroll: Keras's unrolling switch (the same results here).
        zero_output_for_mask: Whether masked steps output zeros (otherwise they repeat the last unmasked
            output).
        use_cudnn: Keras's cuDNN switch (no effect here).
        implementation: Keras 2's implementation mode (no effect here).
        unit_forget_bias: Whether to add 1 to the forget gate's bias at initialization (LSTM).
        reset_after: Whether the reset gate applies after the recurrent matrix product (GRU; Keras 3's
            default).
    """

    supports_masking = True
    cell_name = None      # Keras's cell name, e.g. "lstm_cell"
    gates = 1             # G: gate blocks in kernel / recurrent_kernel
    num_states = 1        # S
    _config_drop = ("use_cudnn", "implementation")

    def _init_rnn(self, *, units, activation, recurrent_activation, use_bias, kernel_initializer,
                  recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                  bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                  recurrent_dropout, seed, return_sequences, return_state, go_backwards, stateful, unroll,
                  zero_output_for_mask):
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError("Received an invalid value for argument `units`, expected a positive integer, "
                             f"got {units!r}.")
        if stateful:
            raise NotImplementedError("stateful=True is not supported by kspec (states are not kept between "
                                      "batches); use stateful: false")
        self.units = units
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        self.seed = seed
        self._rng = None if seed is None else backend.generator(seed)
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.unroll = unroll
        self.zero_output_for_mask = zero_output_for_mask

    # -- weights -------------------------------------------------------------------------------------------
    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} expects inputs of shape (batch, timesteps, features); "
                             f"received input_shape={tuple(input_shape)}")
        g, u = self.gates, self.units
        self.kernel = self.add_weight("kernel", (input_shape[-1], g * u), self.kernel_initializer,
                                      self.kernel_regularizer, self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (u, g * u), self.recurrent_initializer,
                                                self.recurrent_regularizer, self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", self._bias_shape(), self._bias_init(), self.bias_regularizer,
                                        self.bias_constraint)
        self.set_weight_paths(current_path() or self.name)

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def set_weight_paths(self, prefix):
        """Keras's variable paths ``<prefix>/<cell>/<weight>``."""
        for w in self._weights:
            w.path = f"{prefix}/{self.cell_name}/{w.name}"

    def keras_weight_groups(self):
        """Keras 3 ``.weights.h5`` groups: the layer's (empty) ``vars`` and its cell's."""
        return [("", self.name, []), ("cell", self.cell_name, self.weights)]

    # -- calling -----------------------------------------------------------------------------------------------
    @classmethod
    def initial_state_count(cls, config=None):
        """How many initial states the layer takes (the spec checks ``initial_state`` with it)."""
        return cls.num_states

    def check_call_kwargs(self, kwargs):
        super().check_call_kwargs(kwargs)
        if kwargs.get("initial_state") is not None:
            self.state_list(kwargs["initial_state"])

    def state_list(self, initial_state):
        """``initial_state`` as a list of S tensors (or KerasTensors) shaped (batch, units), checked."""
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        what = "[h, c]" if self.num_states == 2 else "[h]"
        if len(states) != self.num_states:
            raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) expects {self.num_states} initial "
                             f"state tensor(s) {what}, each of shape (batch_size, {self.units}). "
                             f"Received: initial_state with {len(states)} tensor(s)")
        for k, s in enumerate(states):
            shape = tuple(getattr(s, "shape", ()))
            if len(shape) != 2 or shape[1] != self.units:
                raise ValueError(f"Layer {self.name!r} ({type(self).__name__}) expects each initial state of "
                                 f"shape (batch_size, {self.units}). Received: initial_state[{k}].shape={shape}")
        return states

    def call(self, inputs, training=False, mask=None, initial_state=None):
        """``initial_state``: S tensors (batch, units), [h] or [h, c] (LSTM); zeros when None."""
        x = _float_input(inputs)
        if mask is not None:
            mask = backend.xp.asarray(mask, dtype=bool)
            if mask.ndim == 3:
                mask = mask.any(axis=-1)
        init = None
        if initial_state is not None:
            init = [_float_input(s) for s in self.state_list(initial_state)]
            if any(s.shape[0] != x.shape[0] for s in init):
                raise ValueError(f"Layer {self.name!r}: the initial states' batch size differs from the inputs'. "
                                 f"Received: inputs.shape={tuple(x.shape)}, initial_state shapes="
                                 f"{[tuple(s.shape) for s in init]}")
        rec_dropout = training and 0.0 < self.recurrent_dropout < 1.0
        names = (activation_name(self.activation), activation_name(self.recurrent_activation))
        if rec_dropout or None in names[:self._activations_used()]:
            seq, last, states = self._stepwise(x, mask, training, init)
        else:
            if training and 0.0 < self.dropout < 1.0:
                x = ops.dropout(x, self.dropout, (x.shape[0], 1, x.shape[2]), self._rng)
            packed = self._sequence_op(x, mask, init, *names)
            count = self.num_states
            seq = rnn_ops.sequence_outputs(packed, count) if self.return_sequences else None
            last = rnn_ops.last_output(packed, count)
            states = rnn_ops.final_states(packed, count) if self.return_state else []
        out = seq if self.return_sequences else last
        if self.return_state:
            if mask is not None and self.return_sequences:
                out.keras_mask = mask
            return [out] + list(states)
        return out

    def _activations_used(self):
        return 2

    def _stepwise(self, x, mask, training, initial_state=None):
        """The per-step loop of engine ops (Keras's ``backend.rnn`` scan). Returns (sequence, last, states)."""
        xp = backend.xp
        n, timesteps, d = x.shape
        u, dt = self.units, x.dtype
        masks_per = self.gates if self.recurrent_dropout > 0 else 1   # Keras's implementation 1 vs 2
        dp = rdp = None
        if training and 0.0 < self.dropout < 1.0:
            dp = [self._dropout_mask((n, d), self.dropout, dt) for _ in range(masks_per)]
        if training and 0.0 < self.recurrent_dropout < 1.0:
            rdp = [self._dropout_mask((n, u), self.recurrent_dropout, dt) for _ in range(masks_per)]
        states = initial_state or [Tensor(xp.zeros((n, u), dtype=dt)) for _ in range(self.num_states)]
        zeros = Tensor(xp.zeros((n, u), dtype=dt))
        outputs = []
        order = range(timesteps - 1, -1, -1) if self.go_backwards else range(timesteps)
        for t in order:
            out, new = self.step(ops.getitem(x, (slice(None), t)), states, dp, rdp)
            if mask is not None:
                m = mask[:, t][:, None]
                out = ops.where(m, out, zeros if self.zero_output_for_mask else states[0])
                new = [ops.where(m, a, b) for a, b in zip(new, states)]
            states = new
            outputs.append(out)
        seq = ops.stack(outputs, axis=1) if self.return_sequences else None
        return seq, outputs[-1], states

    def _dropout_mask(self, shape, rate, dtype):
        keep = comm.draw_rows(backend.random_uniform, shape, rng=self._rng) >= backend.floatx(rate)
        return keep.astype(dtype) * dtype.type(1.0 / (1.0 - rate))

    def _project(self, x, weight, masks, bias=None):
        """``x @ weight`` (+ bias), with one dropout mask for all gates or one per gate block."""
        if masks is None:
            out = ops.matmul(x, weight)
        elif len(masks) == 1:
            out = ops.matmul(x * masks[0], weight)
        else:
            u = self.units
            out = ops.concatenate([ops.matmul(x * m, ops.getitem(weight, (slice(None), slice(k * u, (k + 1) * u))))
                                   for k, m in enumerate(masks)], axis=-1)
        return out if bias is None else out + bias

    def compute_output_shape(self, input_shape):
        batch = input_shape[0]
        out = (batch, input_shape[1], self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [out] + [(batch, self.units)] * self.num_states
        return out

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    def get_config(self):
        config = super().get_config()
        for key in self._config_drop:
            config.pop(key, None)
        config.setdefault("activity_regularizer", None)  # Keras's recurrent layers always write it
        return config


@register("layer")
class SimpleRNN(RNN):
    """Fully connected RNN: ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``."""

    cell_name = "simple_rnn_cell"
    _config_drop = ("seed",)

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, seed=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._init_rnn(units=units, activation=activation, recurrent_activation=None, use_bias=use_bias,
                       kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                       bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                       recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                       kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                       bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                       seed=seed, return_sequences=return_sequences, return_state=return_state,
                       go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                       zero_output_for_mask=zero_output_for_mask)

    def _activations_used(self):
        return 1

    def _sequence_op(self, x, mask, init, act, _ract):
        return ops.simple_rnn(x, self.kernel, self.recurrent_kernel, self.bias, initial_state=init, mask=mask,
                              go_backwards=self.go_backwards, zero_output_for_mask=self.zero_output_for_mask,
                              return_sequences=self.return_sequences, activation=act)

    def step(self, x_t, states, dp, rdp):
        h = self._project(x_t, self.kernel, dp, self.bias)
        prev = states[0] if rdp is None else states[0] * rdp[0]
        out = self.activation(h + ops.matmul(prev, self.recurrent_kernel))
        return out, [out]


@register("layer")
class LSTM(RNN):
    """Long Short-Term Memory (Hochreiter 1997), Keras's gates i, f, c, o:
    ``c = f*c + i*activation(z_c)``, ``h = o*activation(c)``, with i, f, o = recurrent_activation(z)."""

    cell_name = "lstm_cell"
    gates = 4
    num_states = 2

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, zero_output_for_mask=False,
                 use_cudnn="auto", implementation=2, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._init_rnn(units=units, activation=activation, recurrent_activation=recurrent_activation,
                       use_bias=use_bias, kernel_initializer=kernel_initializer,
                       recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                       kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                       bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                       recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                       dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                       return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
                       stateful=stateful, unroll=unroll, zero_output_for_mask=zero_output_for_mask)
        self.unit_forget_bias = unit_forget_bias
        self.use_cudnn = use_cudnn

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, units = self.bias_initializer, self.units

        def init(shape, dtype=None):
            ones = backend.xp.ones((units,), dtype=dtype or backend.floatx)
            return backend.xp.concatenate([base((units,), dtype=dtype), ones, base((2 * units,), dtype=dtype)])
        return init

    def _sequence_op(self, x, mask, init, act, ract):
        return ops.lstm(x, self.kernel, self.recurrent_kernel, self.bias, initial_state=init, mask=mask,
                        go_backwards=self.go_backwards, zero_output_for_mask=self.zero_output_for_mask,
                        return_sequences=self.return_sequences, activation=act, recurrent_activation=ract)

    def step(self, x_t, states, dp, rdp):
        h, c = states
        z = self._project(x_t, self.kernel, dp, self.bias) + self._project(h, self.recurrent_kernel, rdp)
        zi, zf, zc, zo = ops.split(z, 4, axis=-1)
        i, f, o = self.recurrent_activation(zi), self.recurrent_activation(zf), self.recurrent_activation(zo)
        c = f * c + i * self.activation(zc)
        h = o * self.activation(c)
        return h, [h, c]


@register("layer")
class GRU(RNN):
    """Gated Recurrent Unit (Cho 2014), Keras's gates z, r, h:
    ``h = z*h_prev + (1-z)*activation(x_h + r*(h_prev U_h + b_h))`` (``reset_after``; else r scales h_prev
    before the matmul)."""

    cell_name = "gru_cell"
    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 zero_output_for_mask=False, reset_after=True, use_cudnn="auto", implementation=2, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._init_rnn(units=units, activation=activation, recurrent_activation=recurrent_activation,
                       use_bias=use_bias, kernel_initializer=kernel_initializer,
                       recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                       kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                       bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                       recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                       dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                       return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
                       stateful=stateful, unroll=unroll, zero_output_for_mask=zero_output_for_mask)
        self.reset_after = reset_after
        self.use_cudnn = use_cudnn

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _sequence_op(self, x, mask, init, act, ract):
        return ops.gru(x, self.kernel, self.recurrent_kernel, self.bias, initial_state=init, mask=mask,
                       go_backwards=self.go_backwards, zero_output_for_mask=self.zero_output_for_mask,
                       return_sequences=self.return_sequences, activation=act, recurrent_activation=ract,
                       reset_after=self.reset_after)

    def step(self, x_t, states, dp, rdp):
        u = self.units
        h = states[0]
        b_in = b_rec = None
        if self.bias is not None:
            b_in, b_rec = (ops.getitem(self.bias, 0), ops.getitem(self.bias, 1)) if self.reset_after \
                else (self.bias, None)
        xz_z, xz_r, xz_h = ops.split(self._project(x_t, self.kernel, dp, b_in), 3, axis=-1)
        rdp3 = None if rdp is None else (rdp * 3 if len(rdp) == 1 else rdp)
        kernel_zr = ops.getitem(self.recurrent_kernel, (slice(None), slice(0, 2 * u)))
        kernel_h = ops.getitem(self.recurrent_kernel, (slice(None), slice(2 * u, 3 * u)))
        h_zr = [h, h] if rdp3 is None else [h * rdp3[0], h * rdp3[1]]
        h_h = h if rdp3 is None else h * rdp3[2]
        if self.reset_after:
            rec = ops.concatenate([ops.matmul(h_zr[0], ops.getitem(kernel_zr, (slice(None), slice(0, u)))),
                                   ops.matmul(h_zr[1], ops.getitem(kernel_zr, (slice(None), slice(u, 2 * u)))),
                                   ops.matmul(h_h, kernel_h)], axis=-1)
            if b_rec is not None:
                rec = rec + b_rec
            hz_z, hz_r, hz_h = ops.split(rec, 3, axis=-1)
            z = self.recurrent_activation(xz_z + hz_z)
            r = self.recurrent_activation(xz_r + hz_r)
            hh = self.activation(xz_h + r * hz_h)
        else:
            kernel_z = ops.getitem(kernel_zr, (slice(None), slice(0, u)))
            kernel_r = ops.getitem(kernel_zr, (slice(None), slice(u, 2 * u)))
            z = self.recurrent_activation(xz_z + ops.matmul(h_zr[0], kernel_z))
            r = self.recurrent_activation(xz_r + ops.matmul(h_zr[1], kernel_r))
            hh = self.activation(xz_h + ops.matmul(r * h_h, kernel_h))
        h = z * h + (1 - z) * hh
        return h, [h]
