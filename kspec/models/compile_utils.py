"""How compile() pairs losses, loss weights and metrics with a model's outputs, as Keras 3's CompileLoss
and CompileMetrics do (keras/src/trainers/compile_utils.py), and the ValueErrors for what Keras rejects.

With several outputs, ``loss`` is one loss for every output, a list (one per output, in ``output_names``
order; a short list leaves the last outputs without a loss) or a dict naming every output (None for an
output without a loss); ``loss_weights`` has one weight per loss. ``metrics`` is a dict by output name
(some outputs may be left out) or a list with exactly one entry per output. A single output takes any
nesting of metrics. Keras raises on the first fit/evaluate; kspec raises in compile().
"""


def losses_per_output(loss, loss_weights, names):
    """``(losses, weights)``: one loss (or None) and one weight (or None) per output, as Keras 3's
    CompileLoss pairs them; raises ValueError where Keras raises."""
    n = len(names)
    received = loss
    if isinstance(loss, dict) and not _is_object_form(loss, names, "loss"):
        if set(loss) != set(names):
            raise ValueError(f"Expected keys {names} in loss dict, but found loss.keys()={list(loss)}. "
                             "A loss dict names every output (None for an output without a loss).")
        loss = [loss[name] for name in names]
        if isinstance(loss_weights, dict):
            missing = [name for name in names if name not in loss_weights]
            if missing:
                raise ValueError(f"`loss_weights` has no weight for output(s) {missing}; a loss_weights dict "
                                 f"names every output {names}. Received: loss_weights={loss_weights}")
            loss_weights = [loss_weights[name] for name in names]
    nested = isinstance(loss, (list, tuple))
    if loss_weights is not None:
        if isinstance(loss_weights, dict):
            flat_weights = [loss_weights[k] for k in sorted(loss_weights)]  # tree.flatten's order
        elif isinstance(loss_weights, (list, tuple)):
            flat_weights = list(loss_weights)
        else:
            flat_weights = [loss_weights]
        n_losses = len(loss) if nested else 1
        if len(flat_weights) != n_losses:
            hint = (" A single loss applies to every output with one weight: give one loss per output "
                    f"(a dict or list over {names}) to weight them apart." if not nested and n > 1 else "")
            raise ValueError(f"`loss_weights` must match the number of losses, got {n_losses} losses and "
                             f"{len(flat_weights)} weights.{hint} Received: loss={received!r}, "
                             f"loss_weights={loss_weights!r}")
    else:
        flat_weights = None
    if not nested:
        weight = None if flat_weights is None else flat_weights[0]
        return [loss] * n, [weight] * n
    if len(loss) > n:
        raise ValueError(f"`loss` has {len(loss)} entries but the model has {n} output{'s' * (n != 1)} {names}. "
                         f"Received: loss={list(loss)}")
    losses = list(loss) + [None] * (n - len(loss))  # Keras: outputs after a short list get no loss
    weights = (list(flat_weights) if flat_weights is not None else []) + [None] * n
    return losses, weights[:n]


def metrics_per_output(metrics, names, argument):
    """One list of metric identifiers per output, as Keras 3's CompileMetrics assigns them; raises
    ValueError where Keras raises."""
    n = len(names)
    if metrics and not isinstance(metrics, (list, tuple, dict)):
        raise ValueError(f"Expected `{argument}` argument to be a list, tuple, or dict. "
                         f"Received instead: {argument}={metrics} of type {type(metrics)}")
    if not metrics:
        return [[] for _ in range(n)]
    if isinstance(metrics, dict) and _is_object_form(metrics, names, "metric"):
        metrics = [metrics]  # one metric in kspec's object form, e.g. {"Precision": {"thresholds": 0.5}}
    if n == 1:  # every metric applies to the one output, whatever the nesting
        return [_flatten_metrics(metrics, top=True)]
    if isinstance(metrics, (list, tuple)) and len(metrics) == n:
        return [_flatten_metrics(m) for m in metrics]
    if isinstance(metrics, dict) and set(metrics) <= set(names):
        return [_flatten_metrics(metrics.get(name)) for name in names]
    raise ValueError(f"Invalid `{argument}`: the model has {n} outputs {names}, so `{argument}` must be a dict "
                     f"by output name (e.g. {{{names[0]!r}: ['accuracy']}}) or a list with one entry per output "
                     f"(e.g. {[['accuracy']] + [[] for _ in names[1:]]}). Received: {argument}={metrics}")


def _is_object_form(value, names, kind):
    """Whether a dict is one loss/metric object (Keras's ``{"class_name", "config"}`` or kspec's
    ``{ClassName: {arguments}}``) rather than a mapping from output names."""
    from kspec import registry

    if "class_name" in value:
        return True
    if len(value) != 1:
        return False
    (key,) = value
    return key not in names and isinstance(key, str) and registry.lookup(kind, key) is not None


def _flatten_metrics(value, top=False):
    """A metric entry as a flat list (None is no metric). Lists flatten; a dict flattens (values in sorted
    key order, as tree.flatten) only at the top: inside a list it is one metric's config."""
    if value is None:
        return []
    if top and isinstance(value, dict):
        return [m for k in sorted(value) for m in _flatten_metrics(value[k])]
    if isinstance(value, (list, tuple)):
        return [m for v in value for m in _flatten_metrics(v)]
    return [value]
