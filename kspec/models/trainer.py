"""The trainer: compile, fit, evaluate, predict and the *_on_batch steps, as Keras 3 does them.

``Model`` mixes this in (``class Model(Trainer)``); the model side provides ``layers``, ``output_names``,
``losses``, ``trainable_weights`` and ``__call__(inputs, training)``.
"""
import sys

from kspec import backend
from kspec.engine import no_grad
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

    def resolve(self, y_shape, p_shape):
        if self.metrics is None:
            from kspec import metrics as metrics_mod

            self.metrics = [metrics_mod.get(m, y_shape, p_shape) for m in self.metric_ids]
            self.weighted_metrics = [metrics_mod.get(m, y_shape, p_shape) for m in self.weighted_metric_ids]


class Trainer:
    """Keras's training API over the engine. ``stream`` arguments take a text stream for progress."""

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

    @property
    def _loss_tracker(self):
        """The ``loss`` Mean (made on first use, so an uncompiled model needs no metrics module)."""
        if self._loss_tracker_metric is None:
            from kspec import metrics as metrics_mod
            self._loss_tracker_metric = metrics_mod.Mean(name="loss")
        return self._loss_tracker_metric

    # -- compile ---------------------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto"):
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

    def compute_loss(self, x, y, y_pred, sample_weight=None, track=True):
        """The total loss Tensor: each output's loss times its weight, plus the layers' losses."""
        outputs = self._outputs_list(y_pred)
        targets = self._targets_list(y)
        total = None
        for spec, out, target in zip(self._outputs_spec, outputs, targets):
            if spec.loss is None or target is None:
                continue
            sw = sample_weight.get(spec.name) if isinstance(sample_weight, dict) else sample_weight
            value = spec.loss(target, out, sw)
            if track and spec.name in self._output_loss_trackers:
                if self._data_parallel is not None:  # data-parallel: tracked once summed across ranks
                    self._data_parallel.pending.append((spec.name, float(value.data)))
                else:
                    self._output_loss_trackers[spec.name].update_state(float(value.data), len(target))
            if spec.weight != 1.0:
                value = value * spec.weight
            total = value if total is None else total + value
        extra = self.losses
        for penalty in extra:
            total = penalty if total is None else total + penalty
        if total is None:
            raise ValueError("the model has no loss to optimize: compile() with `loss=`")
        return total

    def _update_metrics(self, y, y_pred, sample_weight, batch_size, loss_value):
        self._loss_tracker.update_state(loss_value, batch_size)
        for spec, out, target in zip(self._outputs_spec, self._outputs_list(y_pred), self._targets_list(y)):
            if target is None:
                continue
            pred = out.data
            spec.resolve(target.shape, pred.shape)
            mask = out.keras_mask
            for m in spec.metrics:
                m.update_state(target, pred, mask)
            sw = sample_weight.get(spec.name) if isinstance(sample_weight, dict) else sample_weight
            if mask is not None:
                sw = mask if sw is None else sw * mask
            for m in spec.weighted_metrics:
                m.update_state(target, pred, sw)

    def train_step(self, x, y, sample_weight=None):
        y_pred = self(x, training=True)
        loss = self.compute_loss(x, y, y_pred, sample_weight)
        variables = self.trainable_weights
        for v in variables:
            v.grad = None
        self.optimizer.scale_loss(loss).backward()
        # Weights the loss does not reach get zero gradients, as jax.grad gives them in Keras.
        grads = [backend.xp.zeros_like(v.data) if v.grad is None else v.grad for v in variables]
        loss_value, batch_size = float(loss.data), da.num_samples(x)
        if self._data_parallel is not None:  # data-parallel: one fused allreduce (models/distributed.py)
            grads, loss_value, batch_size = self._data_parallel.reduce_gradients(grads, loss_value)
        self.optimizer.apply_gradients(list(zip(grads, variables)))
        for v in variables:
            v.grad = None
        self._update_metrics(y, y_pred, sample_weight, batch_size, loss_value)

    def test_step(self, x, y, sample_weight=None):
        with no_grad():
            y_pred = self(x, training=False)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        loss_value, batch_size = float(loss.data), da.num_samples(x)
        if self._data_parallel is not None:  # data-parallel: the global batch's loss values
            loss_value, batch_size = self._data_parallel.reduce_scalars(loss_value)
        self._update_metrics(y, y_pred, sample_weight, batch_size, loss_value)

    def predict_step(self, x):
        with no_grad():
            outputs = self(x, training=False)
        if isinstance(outputs, (list, tuple)):
            return [o.data for o in outputs]
        return outputs.data

    # -- metric bookkeeping ------------------------------------------------------------------------------
    def reset_metrics(self):
        self._loss_tracker.reset_state()
        for t in self._output_loss_trackers.values():
            t.reset_state()
        for spec in self._outputs_spec:
            for m in (spec.metrics or []) + (spec.weighted_metrics or []):
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
        """The metric objects: the loss tracker, the compiled metrics, then per-output loss trackers."""
        return ([self._loss_tracker] + [m for _, m in self._named_metrics()]
                + list(self._output_loss_trackers.values()))

    def _logs_across_ranks(self):
        """Epoch and evaluation logs: data-parallel ranks first sum their metric states, so all agree."""
        if self._data_parallel is not None:
            self._data_parallel.sum_metric_states()
        return self.get_metrics_result()

    def get_metrics_result(self):
        """Current logs, with keys sorted alphabetically as Keras 3's logs are."""
        logs = {"loss": self._loss_tracker.result()}
        for name, tracker in self._output_loss_trackers.items():
            logs[name + "_loss"] = tracker.result()
        for name, m in self._named_metrics():
            logs[name] = m.result()
        return {k: logs[k] for k in sorted(logs)}

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def _flatten_in_order(self, logs):
        """Keras's list form of logs: values named by ``metrics_names`` first, then the rest sorted."""
        names = self.metrics_names
        values = [logs[n] for n in names if n in logs] + [logs[k] for k in sorted(logs) if k not in names]
        return values[0] if len(values) == 1 else values

    # -- fit / evaluate / predict ------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, steps_per_epoch=None, validation_steps=None, validation_batch_size=None,
            validation_freq=1, stream=None):
        """Train for ``epochs`` epochs, as Keras 3 on JAX does; returns the History.

        Progress and callback messages go to ``stream`` (stderr by default). With ``shuffle=True`` each
        epoch draws ``permutation(N)`` from the backend's shuffle RNG; the first fit after ``compile``
        draws one extra permutation first, as Keras's build step does.
        """
        self._require_compiled()
        if validation_split and validation_data is None:
            (x, y, sample_weight), val = da.train_validation_split([x, y, sample_weight], validation_split)
            validation_data = tuple(val)
        if sample_weight is not None and class_weight is not None:
            raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
        if class_weight is not None:
            sample_weight = da.class_weight_to_sample_weight(da.flatten(y)[0], class_weight)
        val_x, val_y, val_sw = _unpack_validation(validation_data)
        n = da.num_samples(x, y, sample_weight)
        batch_size = batch_size or (-(-n // steps_per_epoch) if steps_per_epoch else 32)
        iterator = da.EpochIterator(n, batch_size, steps_per_epoch, shuffle)
        if not self._symbolic_built:
            iterator.discard_build_draw()
            self._symbolic_built = True
        from kspec.models import callbacks as callbacks_mod

        dp = self._data_parallel = distributed.attach(self)  # None on one process
        if dp is not None and dp.comm.rank:
            verbose = 0  # rank 0 alone shows progress
        cbs = callbacks_mod.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                                         stream=stream or sys.stderr, verbose=verbose, epochs=epochs,
                                         steps=iterator.num_batches)
        self.stop_training = False
        training_logs = {}
        cbs.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cbs.on_epoch_begin(epoch)
            for step, index in iterator.epoch():
                cbs.on_train_batch_begin(step)
                if dp is not None:  # this rank's rows of the global batch
                    index = dp.shard(index)
                self.train_step(da.take(x, index), da.take(y, index),
                                None if sample_weight is None else da.take(sample_weight, index))
                cbs.on_train_batch_end(step, self.get_metrics_result)
                if self.stop_training:
                    break
            epoch_logs = self._logs_across_ranks()
            if val_x is not None and _should_validate(epoch, validation_freq):
                val_logs = self.evaluate(val_x, val_y, batch_size=validation_batch_size or batch_size,
                                         sample_weight=val_sw, steps=validation_steps, callbacks=cbs,
                                         return_dict=True)
                epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            training_logs = epoch_logs
            if self.stop_training:
                break
        if epochs > 0:  # with use_ema, Keras copies the moving averages into the weights here
            self.optimizer.finalize_variable_values(self.trainable_weights)
        cbs.on_train_end(training_logs)
        self._data_parallel = None
        return self.history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, stream=None):
        """Loss and metrics over the data: a scalar (loss only), a list (``metrics_names`` first, then the
        other keys sorted) or a dict. ``callbacks`` may be a CallbackList (fit's validation passes its own)."""
        from kspec.models import callbacks as callbacks_mod

        self._require_compiled()
        n = da.num_samples(x, y, sample_weight)
        batch_size = batch_size or (-(-n // steps) if steps else 32)
        iterator = da.EpochIterator(n, batch_size, steps, shuffle=False)
        self._symbolic_built = True
        outer_dp = self._data_parallel  # fit's, when validating
        dp = self._data_parallel = outer_dp or distributed.attach(self, sync=False)
        if dp is not None and dp.comm.rank:
            verbose = 0
        if isinstance(callbacks, callbacks_mod.CallbackList):
            cbs = callbacks
        else:
            cbs = callbacks_mod.CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                             stream=stream or sys.stderr, verbose=verbose, epochs=1,
                                             steps=iterator.num_batches)
        cbs.on_test_begin()
        self.reset_metrics()
        for step, index in iterator.epoch():
            cbs.on_test_batch_begin(step)
            if dp is not None:
                index = dp.shard(index)
            self.test_step(da.take(x, index), da.take(y, index),
                           None if sample_weight is None else da.take(sample_weight, index))
            cbs.on_test_batch_end(step, self.get_metrics_result)
        logs = callbacks_mod.pythonify_logs(self._logs_across_ranks())
        self._data_parallel = outer_dp
        cbs.on_test_end(logs)
        return logs if return_dict else self._flatten_in_order(logs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None, stream=None):
        """Outputs for ``x`` in batches: an array, or a list of arrays for several outputs."""
        n = da.num_samples(x)
        batch_size = batch_size or (-(-n // steps) if steps else 32)
        iterator = da.EpochIterator(n, batch_size, steps, shuffle=False)
        if callbacks or verbose != 0:
            from kspec.models import callbacks as callbacks_mod
            cbs = callbacks_mod.CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                             stream=stream or sys.stderr, verbose=verbose, epochs=1,
                                             steps=iterator.num_batches)
        else:
            cbs = _NoCallbacks()  # nothing to call: the callbacks module is not even imported
        self.stop_predicting = False
        cbs.on_predict_begin()
        parts = []
        for step, index in iterator.epoch():
            cbs.on_predict_batch_begin(step)
            parts.append(self.predict_step(da.take(x, index)))
            cbs.on_predict_batch_end(step, {"outputs": parts[-1]})
            if self.stop_predicting:
                break
        cbs.on_predict_end()
        xp = backend.xp
        if parts and isinstance(parts[0], list):
            return [xp.concatenate([p[i] for p in parts]) for i in range(len(parts[0]))]
        return xp.concatenate(parts) if parts else xp.zeros((0,), dtype=backend.floatx)

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
        self.train_step(x, y, sample_weight)
        return self._step_result(return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._require_compiled()
        self._symbolic_built = True
        self.reset_metrics()
        self.test_step(x, y, sample_weight)
        return self._step_result(return_dict)

    def predict_on_batch(self, x):
        return self.predict_step(x)

    def _step_result(self, return_dict):
        from kspec.models import callbacks as callbacks_mod

        logs = callbacks_mod.pythonify_logs(self.get_metrics_result())
        return logs if return_dict else self._flatten_in_order(logs)


class _NoCallbacks:
    """Stands in for a CallbackList with no callbacks: every hook does nothing."""

    def __getattr__(self, hook):
        return _do_nothing


def _do_nothing(*args, **kwargs):
    return None


def _unpack_validation(data):
    if data is None:
        return None, None, None
    if len(data) == 2:
        return data[0], data[1], None
    return data[0], data[1], data[2]


def _should_validate(epoch, freq):
    if isinstance(freq, int):
        return (epoch + 1) % freq == 0
    return epoch + 1 in freq
