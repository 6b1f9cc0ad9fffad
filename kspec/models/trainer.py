"""The trainer: compile, fit, evaluate, predict and the *_on_batch steps, as Keras 3 does them.

``Model`` mixes this in (``class Model(Trainer, Layer)``); the model side provides ``output_names``,
``losses``, ``trainable_weights`` and ``__call__(inputs, training)``.

Keras 3's protocol: fit/evaluate/predict hand each batch to ``train_step``/``test_step``/``predict_step(data)``
(``data`` packed as ``x``, ``(x, y)`` or ``(x, y, sample_weight)``), and the logs a step returns drive the
progress bar, History and callbacks. When a step is not overridden, fit runs the built-in step directly and
builds logs only when a callback reads them, so the built-in path pays nothing for the protocol.
"""
import sys

from kspec import backend
from kspec.engine import Tensor, no_grad
from kspec.models import data_adapter as da
from kspec.models import distributed
from kspec.models.compile_utils import losses_per_output, metrics_per_output

# Losses, metrics, optimizers and callbacks load when a model is compiled or trained, so that loading a
# model to predict (kspec predict) imports none of them.


class _Output:
    """What compile attached to one model output: its loss, weight and metrics."""

    def __init__(self, name, loss, weight, metric_ids, weighted_metric_ids):
        from kspec import losses as losses_mod

        self.name = name
        self.loss = None if loss is None else losses_mod.get(loss)
        self.weight = 1.0 if weight is None else float(weight)
        self.metric_ids = list(metric_ids or [])
        self.weighted_metric_ids = list(weighted_metric_ids or [])
        self.metrics = None  # resolved on the first batch, when shapes are known
        self.weighted_metrics = None
        self.shapes = None

    def resolve(self, y_shape, p_shape):
        self.shapes = (tuple(y_shape), tuple(p_shape))  # a checkpoint resolves them again on resume
        if self.metrics is None:
            from kspec import metrics as metrics_mod

            self.metrics = [metrics_mod.get(m, y_shape, p_shape) for m in self.metric_ids]
            self.weighted_metrics = [metrics_mod.get(m, y_shape, p_shape) for m in self.weighted_metric_ids]


class Trainer:
    """Keras's training API over the engine. ``stream`` arguments take a text stream for progress."""

    compiled = False
    optimizer = None
    _compile_metrics = None
    _outputs_spec = ()
    _output_loss_trackers = {}
    _loss_tracker_metric = None
    _symbolic_built = False
    _data_parallel = None  # a distributed.DataParallel while fit/evaluate run on several ranks

    def _init_trainer(self):
        self.optimizer = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._outputs_spec = []
        self._symbolic_built = False
        self._loss_tracker_metric = None
        self._output_loss_trackers = {}
        self.compile_args = {}
        self._compile_metrics = None

    @property
    def _loss_tracker(self):
        """The ``loss`` Mean (made on first use, so an uncompiled model needs no metrics module)."""
        if self._loss_tracker_metric is None:
            from kspec import metrics as metrics_mod
            self._loss_tracker_metric = metrics_mod.Mean(name="loss")
        return self._loss_tracker_metric

    # -- compile ---------------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        """Set the optimizer, the loss of each output (with its weight) and the metrics, as Keras 3 does.

        With several outputs, ``loss`` is one loss for every output, a list (one per output, in
        ``output_names`` order) or a dict naming every output (``None`` for an output without a loss);
        ``metrics``/``weighted_metrics`` are a dict by output name or a list with one entry per output.
        What Keras 3 rejects raises a ValueError here (Keras raises on the first fit/evaluate).
        """
        from kspec import metrics as metrics_mod, optimizers

        names = list(self.output_names)
        per_loss, per_weight = losses_per_output(loss, loss_weights, names)
        per_metrics = metrics_per_output(metrics, names, "metrics")
        per_weighted = metrics_per_output(weighted_metrics, names, "weighted_metrics")
        self.optimizer = optimizers.get(optimizer)
        self._outputs_spec = [_Output(name, per_loss[i], per_weight[i], per_metrics[i], per_weighted[i])
                              for i, name in enumerate(names)]
        with_loss = [o for o in self._outputs_spec if o.loss is not None]
        # Keras tracks each output's loss (``<output>_loss``) only when more than one loss is computed.
        self._output_loss_trackers = ({o.name: metrics_mod.Mean(name=f"{o.name}_loss") for o in with_loss}
                                      if len(with_loss) > 1 else {})
        self.compile_args = {"optimizer": optimizer, "loss": loss, "loss_weights": loss_weights,
                             "metrics": metrics, "weighted_metrics": weighted_metrics}
        self._compile_metrics = (CompileMetrics(self) if metrics is not None or weighted_metrics is not None
                                 else None)
        # Keras keeps these on the model; kspec runs every step eagerly, one step per call.
        self.loss = loss
        self.run_eagerly = run_eagerly
        self.jit_compile = False
        self.steps_per_execution = steps_per_execution
        self.compiled = True
        self._symbolic_built = False  # Keras builds metrics and loss on first use (see fit)

    def _require_compiled(self):
        if not self.compiled:
            raise RuntimeError("You must call `compile()` before using the model for training or evaluation.")

    # -- the steps ---------------------------------------------------------------------------------------
    def _outputs_list(self, outputs):
        return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]

    def _targets_list(self, y):
        if isinstance(y, dict):
            return [y.get(name) for name in self.output_names]
        if isinstance(y, (list, tuple)) and len(self.output_names) > 1:
            return list(y)
        return [y]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True, track=True):
        """The total loss Tensor, as Keras 3: each output's compiled loss times its weight, plus the layers'
        losses (``self.losses``). Updates the per-output loss trackers unless ``track=False``."""
        del x, training  # the default loss uses neither
        total = None
        if self._outputs_spec:
            outputs = self._outputs_list(y_pred)
            targets = self._targets_list(y)
            for spec, out, target in zip(self._outputs_spec, outputs, targets):
                if spec.loss is None or target is None:
                    continue
                sw = sample_weight.get(spec.name) if isinstance(sample_weight, dict) else sample_weight
                value = spec.loss(target, out, sw)
                if track and spec.name in self._output_loss_trackers:
                    if self._data_parallel is not None:  # data-parallel: tracked once summed across ranks
                        self._data_parallel.pending.append((spec.name, float(value.data)))
                    else:
                        self._output_loss_trackers[spec.name].update_state(value.data, len(target))
                if spec.weight != 1.0:
                    value = value * spec.weight
                total = value if total is None else total + value
        for penalty in self.losses:
            total = penalty if total is None else total + penalty
        if total is None:  # nothing to compute: zero, as Keras on JAX (its other backends raise)
            total = Tensor(backend.xp.zeros((), dtype=backend.floatx))
        return total

    def _compute_loss(self, x, y, y_pred, sample_weight, training):
        """Call :meth:`compute_loss`, passing ``training`` only to an override that takes it (as Keras)."""
        if self._step_overridden("compute_loss"):
            import inspect
            kwargs = {"x": x, "y": y, "y_pred": y_pred, "sample_weight": sample_weight}
            if "training" in inspect.signature(self.compute_loss).parameters:
                kwargs["training"] = training
            return self.compute_loss(**kwargs)
        return self.compute_loss(x, y, y_pred, sample_weight, training)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics with a batch; returns :meth:`get_metrics_result`."""
        del x
        if self._compile_metrics is not None:
            self._compile_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def _update_metrics(self, y, y_pred, sample_weight, batch_size, loss_value):
        self._loss_tracker.update_state(loss_value, batch_size)
        if self._compile_metrics is not None:
            self._compile_metrics.update_state(y, y_pred, sample_weight)

    def _update_compiled_metrics(self, y, y_pred, sample_weight):
        for spec, out, target in zip(self._outputs_spec, self._outputs_list(y_pred), self._targets_list(y)):
            if target is None:
                continue
            if isinstance(out, Tensor):
                pred, mask = out.data, out.keras_mask
            else:  # a custom step may pass arrays
                pred, mask = out, None
            if isinstance(target, Tensor):
                target = target.data
            spec.resolve(target.shape, pred.shape)
            for m in spec.metrics:
                m.update_state(target, pred, mask)
            sw = sample_weight.get(spec.name) if isinstance(sample_weight, dict) else sample_weight
            if mask is not None:
                sw = mask if sw is None else sw * mask
            for m in spec.weighted_metrics:
                m.update_state(target, pred, sw)

    def _train_batch(self, x, y, sample_weight):
        """The built-in training step on one batch (what :meth:`train_step` runs), without building logs."""
        y_pred = self(x, training=True)
        loss = self._compute_loss(x, y, y_pred, sample_weight, True)
        if not loss.requires_grad and not any(spec.loss for spec in self._outputs_spec):
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`, or override "
                             "`train_step` (or `compute_loss`) to compute one.")
        variables = self.trainable_weights
        for v in variables:
            v.grad = None
        self.optimizer.scale_loss(loss).backward()
        # Weights the loss does not reach get zero gradients, as jax.grad gives them in Keras.
        grads = [backend.xp.zeros_like(v.data) if v.grad is None else v.grad for v in variables]
        loss_value, batch_size = loss.data, da.num_samples(x)  # device values: no read-back per step
        if self._data_parallel is not None:  # data-parallel (CPU): one fused allreduce (models/distributed.py)
            grads, loss_value, batch_size = self._data_parallel.reduce_gradients(grads, float(loss_value))
        self.optimizer.apply_gradients(list(zip(grads, variables)))
        for v in variables:
            v.grad = None
        self._update_metrics(y, y_pred, sample_weight, batch_size, loss_value)

    def _test_batch(self, x, y, sample_weight):
        with no_grad():
            y_pred = self(x, training=False)
            loss = self._compute_loss(x, y, y_pred, sample_weight, False)
        loss_value, batch_size = loss.data, da.num_samples(x)
        if self._data_parallel is not None:  # data-parallel: the global batch's loss values
            loss_value, batch_size = self._data_parallel.reduce_scalars(float(loss_value))
        self._update_metrics(y, y_pred, sample_weight, batch_size, loss_value)

    def train_step(self, data):
        """One training step on ``data`` (``x``, ``(x, y)`` or ``(x, y, sample_weight)``): forward, loss,
        gradients, optimizer update, metrics. Returns the logs (metric name -> value). Override it to
        customize fit; the logs it returns drive the progress bar, History and callbacks."""
        x, y, sample_weight = da.unpack_x_y_sample_weight(data)
        self._train_batch(x, y, sample_weight)
        return self.get_metrics_result()

    def test_step(self, data):
        """One evaluation step on ``data``; returns the logs. Override it to customize evaluate."""
        x, y, sample_weight = da.unpack_x_y_sample_weight(data)
        self._test_batch(x, y, sample_weight)
        return self.get_metrics_result()

    def predict_step(self, data):
        """The outputs for one batch ``data`` (``x`` or ``(x,)``), as arrays."""
        x, _, _ = da.unpack_x_y_sample_weight(data)
        with no_grad():
            outputs = self(x, training=False)
        return _as_arrays(outputs)

    # -- metric bookkeeping ------------------------------------------------------------------------------
    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def _named_metrics(self):
        """(log name, metric) pairs in Keras's order: every output's metrics, then every output's weighted
        metrics; a clash gets Keras's ``weighted_`` prefix or a ``_1``, ``_2`` suffix."""
        multi = len(self._outputs_spec) > 1
        counts, out = {}, []
        for weighted in (False, True):
            for spec in self._outputs_spec:
                for m in (spec.weighted_metrics if weighted else spec.metrics) or []:
                    name = f"{spec.name}_{m.name}" if multi else m.name
                    if name in counts and weighted:
                        name = f"{spec.name}_weighted_{m.name}" if multi else f"weighted_{m.name}"
                    if name in counts:
                        counts[name] += 1
                        name = f"{name}_{counts[name] - 1}"
                    else:
                        counts[name] = 1
                    out.append((name, m))
        return out

    @property
    def metrics(self):
        """Keras's order: the ``loss`` tracker and the compiled metrics (one ``compile_metrics`` object) when
        compiled, the per-output loss trackers, then metrics assigned as attributes of the model and of its
        layers. Override it to list your own trackers: fit and evaluate reset them every epoch."""
        out = []
        if self.compiled:
            out.append(self._loss_tracker)
            if self._compile_metrics is not None:
                out.append(self._compile_metrics)
            out.extend(self._output_loss_trackers.values())
        out.extend(getattr(self, "_metrics", ()))
        flatten_layers = getattr(self, "_flatten_layers", None)
        if flatten_layers is not None:
            for layer in flatten_layers(include_self=False):
                if not isinstance(layer, Trainer):
                    out.extend(getattr(layer, "_metrics", ()))
        return out

    def _logs_across_ranks(self):
        """Epoch and evaluation logs: data-parallel ranks first sum their metric states, so all agree."""
        if self._data_parallel is not None:
            self._data_parallel.sum_metric_states()
        return self.get_metrics_result()

    def get_metrics_result(self):
        """The current value of every metric in :attr:`metrics` (a metric giving a dict adds its entries),
        keys sorted as Keras 3's logs are."""
        logs = {}
        for m in self.metrics:
            value = m.result()
            if isinstance(value, dict):
                logs.update(value)
            else:
                logs[m.name] = value
        return {k: logs[k] for k in sorted(logs)}

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def _flatten_in_order(self, logs):
        """Keras's list form of logs: values named by the metrics (the compiled metrics one by one) first,
        then the rest sorted."""
        names = []
        for m in self.metrics:
            names.extend(m.names if isinstance(m, CompileMetrics) else [m.name])
        values = [logs[n] for n in names if n in logs] + [logs[k] for k in sorted(logs) if k not in names]
        return values[0] if len(values) == 1 else values

    def _step_overridden(self, name):
        """Whether a subclass (or the instance) replaces a built-in step, whose logs fit then uses."""
        return name in self.__dict__ or getattr(type(self), name) is not getattr(Trainer, name)

    def _logs_or_metrics(self, logs):
        """Epoch logs: the metrics' results when the last step's logs name the same keys, else those logs
        (a custom step that reports its own values), as Keras does."""
        from kspec.models.callbacks import pythonify_logs

        metric_logs = self.get_metrics_result()
        if isinstance(logs, dict) and set(logs) == set(metric_logs):
            return metric_logs
        return pythonify_logs(logs)

    # -- fit / evaluate / predict ------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, steps_per_epoch=None, validation_steps=None, validation_batch_size=None,
            validation_freq=1, terminate_on_nan=True, stream=None):
        """Train for ``epochs`` epochs, as Keras 3 on JAX does; returns the History.

        ``x`` is arrays (with ``y``), a Python generator or a PyDataset-like object yielding ``(x, y)`` or
        ``(x, y, sample_weight)`` batches; ``validation_data`` likewise. Progress and callback messages go
        to ``stream`` (stderr by default). With ``shuffle=True`` each epoch draws ``permutation(N)`` from
        the backend's shuffle RNG; the first fit after ``compile`` draws one extra permutation first, as
        Keras's build step does.

        ``terminate_on_nan`` (kspec; on by default) stops at the first NaN or inf in the loss or a
        gradient, before that update, with a NonFiniteError naming the epoch, batch, first layer and op
        and a likely cause. A ``BackupAndRestore`` callback resumes an interrupted fit exactly.
        """
        self._require_compiled()
        if validation_split and validation_data is None:
            if da.is_batch_source(x):
                raise ValueError("`validation_split` is only supported for arrays; pass `validation_data` "
                                 "with a generator or PyDataset")
            (x, y, sample_weight), val = da.train_validation_split([x, y, sample_weight], validation_split)
            validation_data = tuple(val)
        if sample_weight is not None and class_weight is not None:
            raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
        data = da.batches(x, y, sample_weight, batch_size, steps_per_epoch, shuffle, class_weight)
        val_x, val_y, val_sw = (da.unpack_x_y_sample_weight(validation_data) if validation_data is not None
                                else (None, None, None))
        val_batches = None
        if val_x is not None and da.is_batch_source(val_x):
            val_batches = da.batches(val_x, val_y, val_sw, steps=validation_steps, purpose="evaluate")
        if not self._symbolic_built:
            data.discard_build_draw()
            self._symbolic_built = True
        from kspec.models import callbacks as callbacks_mod
        from kspec.models.checkpoint import FitLoop

        custom = self._step_overridden("train_step")
        dp = self._data_parallel = distributed.attach(self, data=data, custom=custom)  # None on one process
        if dp is not None and dp.comm.rank:
            verbose = 0  # rank 0 alone shows progress
        cbs = callbacks_mod.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                                         stream=stream or sys.stderr, verbose=verbose, epochs=epochs,
                                         steps=data.num_batches)
        loop = FitLoop(self, data, cbs, terminate_on_nan)
        self.stop_training = False
        cbs.on_train_begin()
        initial_epoch = loop.start(initial_epoch)  # a BackupAndRestore's checkpoint, if any
        training_logs = loop.last_logs
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            loop.epoch_begin(epoch)
            logs = None
            for step, bx, by, bsw in loop.batches():
                loop.batch_begin(step, (bx, by, bsw))
                cbs.on_train_batch_begin(step)
                if dp is not None:  # this rank's rows of the global batch; starts the sharded step
                    bx, by, bsw = dp.shard(bx, by, bsw)
                if custom:
                    logs = self.train_step(da.pack_x_y_sample_weight(bx, by, bsw))
                    loop.batch_end(step)
                    cbs.on_train_batch_end(step, logs)
                else:
                    self._train_batch(bx, by, bsw)
                    loop.batch_end(step)
                    cbs.on_train_batch_end(step, self.get_metrics_result)
                if self.stop_training:
                    break
            epoch_logs = (self._logs_or_metrics(logs) if custom and logs is not None
                          else self._logs_across_ranks())
            if val_x is not None and _should_validate(epoch, validation_freq):
                val_logs = self.evaluate(val_x, val_y, batch_size=validation_batch_size or batch_size,
                                         sample_weight=val_sw, steps=validation_steps, callbacks=cbs,
                                         return_dict=True, _batches=val_batches)
                epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            loop.epoch_end(epoch, epoch_logs)
            training_logs = epoch_logs
            if self.stop_training:
                break
        loop.finish()
        if epochs > 0 and self.optimizer is not None:  # with use_ema, Keras copies the averages in here
            self.optimizer.finalize_variable_values(self.trainable_weights)
        cbs.on_train_end(training_logs)
        self._data_parallel = None
        return self.history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, stream=None, _batches=None):
        """Loss and metrics over the data (arrays, a generator or a PyDataset-like object): a scalar (loss
        only), a list (the metrics in order, then the other keys sorted) or a dict. ``callbacks`` may be
        a CallbackList (fit's validation passes its own)."""
        from kspec.models import callbacks as callbacks_mod

        self._require_compiled()
        data = _batches or da.batches(x, y, sample_weight, batch_size, steps, purpose="evaluate")
        self._symbolic_built = True
        custom = self._step_overridden("test_step")
        outer_dp = self._data_parallel  # fit's, when validating
        dp = self._data_parallel = outer_dp or distributed.attach(self, sync=False, data=data, custom=custom)
        if dp is not None:
            distributed.check_supported(data, custom)  # fit's validation data, too
            if dp.comm.rank:
                verbose = 0
        if isinstance(callbacks, callbacks_mod.CallbackList):
            cbs = callbacks
        else:
            cbs = callbacks_mod.CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                             stream=stream or sys.stderr, verbose=verbose, epochs=1,
                                             steps=data.num_batches)
        cbs.on_test_begin()
        self.reset_metrics()
        logs = None
        for step, bx, by, bsw in data.epoch():
            cbs.on_test_batch_begin(step)
            if dp is not None:
                bx, by, bsw = dp.shard(bx, by, bsw)
            if custom:
                logs = self.test_step(da.pack_x_y_sample_weight(bx, by, bsw))
                cbs.on_test_batch_end(step, logs)
            else:
                self._test_batch(bx, by, bsw)
                cbs.on_test_batch_end(step, self.get_metrics_result)
        logs = callbacks_mod.pythonify_logs(self._logs_or_metrics(logs) if custom and logs is not None
                                            else self._logs_across_ranks())
        self._data_parallel = outer_dp
        cbs.on_test_end(logs)
        return logs if return_dict else self._flatten_in_order(logs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None, stream=None):
        """Outputs for ``x`` (arrays, a generator or a PyDataset-like object) in batches: an array, or a
        list (or dict) of arrays for several outputs."""
        data = da.batches(x, None, None, batch_size, steps, purpose="predict")
        if callbacks or verbose != 0:
            from kspec.models import callbacks as callbacks_mod
            cbs = callbacks_mod.CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                             stream=stream or sys.stderr, verbose=verbose, epochs=1,
                                             steps=data.num_batches)
        else:
            cbs = _NoCallbacks()  # nothing to call: the callbacks module is not even imported
        self.stop_predicting = False
        cbs.on_predict_begin()
        parts = []
        for step, bx, _, _ in data.epoch():
            cbs.on_predict_batch_begin(step)
            parts.append(_as_arrays(self.predict_step(da.pack_x_y_sample_weight(bx))))
            cbs.on_predict_batch_end(step, {"outputs": parts[-1]})
            if self.stop_predicting:
                break
        cbs.on_predict_end()
        return _to_host(_concatenate(parts))  # joined on the device, then one copy to the host

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One training step on one batch; returns the batch's logs (like evaluate's return)."""
        self._require_compiled()
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("Arguments `sample_weight` and `class_weight` cannot be specified at the "
                                 "same time.")
            sample_weight = da.class_weight_to_sample_weight(da.flatten(y)[0], class_weight)
        self._symbolic_built = True
        self.reset_metrics()
        return self._step_result(self.train_step(da.pack_x_y_sample_weight(x, y, sample_weight)), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._require_compiled()
        self._symbolic_built = True
        self.reset_metrics()
        return self._step_result(self.test_step(da.pack_x_y_sample_weight(x, y, sample_weight)), return_dict)

    def predict_on_batch(self, x):
        return _to_host(_as_arrays(self.predict_step(da.pack_x_y_sample_weight(x))))

    def _step_result(self, logs, return_dict):
        from kspec.models import callbacks as callbacks_mod

        logs = callbacks_mod.pythonify_logs(logs)
        return logs if return_dict else self._flatten_in_order(logs)


class CompileMetrics:
    """Keras's ``compile_metrics``: every compiled metric of every output behind one metric object;
    ``result()`` is a dict of their values by log name (``names`` in order)."""

    name = "compile_metrics"

    def __init__(self, trainer):
        self._trainer = trainer

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._trainer._update_compiled_metrics(y_true, y_pred, sample_weight)

    def reset_state(self):
        for spec in self._trainer._outputs_spec:
            for m in (spec.metrics or []) + (spec.weighted_metrics or []):
                m.reset_state()

    @property
    def names(self):
        return [name for name, _ in self._trainer._named_metrics()]

    @property
    def metrics(self):
        return [m for _, m in self._trainer._named_metrics()]

    def result(self):
        return {name: m.result() for name, m in self._trainer._named_metrics()}

    def __repr__(self):
        return "<CompileMetrics name='compile_metrics'>"


class _NoCallbacks:
    """Stands in for a CallbackList with no callbacks: every hook does nothing."""

    def __getattr__(self, hook):
        return _do_nothing


def _do_nothing(*args, **kwargs):
    return None


def _as_arrays(outputs):
    """A predict step's outputs (Tensors or arrays, maybe in a list, tuple or dict) as arrays."""
    if isinstance(outputs, dict):
        return {k: _as_arrays(v) for k, v in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return [_as_arrays(v) for v in outputs]
    return outputs.data if hasattr(outputs, "requires_grad") else backend.xp.asarray(outputs)


def _to_host(value):
    """Outputs (arrays in a dict or list) as host NumPy arrays: predictions leave the device here."""
    if isinstance(value, dict):
        return {k: _to_host(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_host(v) for v in value]
    return backend.to_numpy(value)


def _concatenate(parts):
    """The batches' outputs joined along the batch axis, in the structure of one batch's outputs."""
    xp = backend.xp
    if not parts:
        return xp.zeros((0,), dtype=backend.floatx)
    first = parts[0]
    if isinstance(first, dict):
        return {k: _concatenate([p[k] for p in parts]) for k in first}
    if isinstance(first, list):
        return [_concatenate([p[i] for p in parts]) for i in range(len(first))]
    return xp.concatenate(parts)


def _should_validate(epoch, freq):
    if isinstance(freq, int):
        return (epoch + 1) % freq == 0
    return epoch + 1 in freq
