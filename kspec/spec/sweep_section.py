"""The optional ``sweep:`` section of a spec: the search ``kspec sweep`` runs when no option says otherwise.

    sweep:
      params:
        compile.optimizer.Adam.learning_rate: loguniform:1.0e-4:1.0e-1
        model.layers.0.Dense.units: int:4:64
      trials: 20
      metric: val_loss          # a history key; direction follows it unless given
      sampler: tpe              # tpe | random | grid
      prune: true               # median pruning on the epoch logs
      jobs: 2

``kspec train`` ignores the section; ``kspec sweep`` options override it key by key.
"""
from kspec.spec.sweep_params import DIRECTIONS, SAMPLERS, ParamError, parse_distribution
from kspec.spec.values import describe, is_number

SWEEP_KEYS = ("params", "trials", "jobs", "metric", "direction", "sampler", "prune", "timeout", "storage",
              "study_name")


def resolve_sweep(rules, value):
    """The checked ``sweep`` section (``params`` as ``{key: distribution text}``); errors go to ``rules``."""
    path = ("sweep",)
    value = rules.mapping(value, path, "sweep", hint="e.g. sweep: {params: {fit.batch_size: choice:16,32}}")
    if value is None:
        return None
    rules.unknown_keys(value, path, SWEEP_KEYS, "sweep")
    out = {"params": {}}
    params = rules.mapping(value.get("params"), path + ("params",), "sweep.params",
                           hint="map a --set key to a distribution, e.g. fit.batch_size: choice:16,32")
    for key, dist in (params or {}).items():
        try:
            parse_distribution(str(key), dist)
        except ParamError as e:
            rules.err(path + ("params", key), f"sweep.params: {e.message}", hint=e.hint)
            continue
        out["params"][str(key)] = dist
    for key in ("trials", "jobs"):
        v = value.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            rules.err(path + (key,), f"sweep.{key} must be an integer >= 1, found {v!r}")
        out[key] = v
    for key, allowed in (("direction", DIRECTIONS), ("sampler", SAMPLERS)):
        v = value.get(key)
        if v is not None and v not in allowed:
            rules.err(path + (key,), f"sweep.{key} must be one of {', '.join(allowed)}, found {v!r}")
        out[key] = v
    for key in ("metric", "storage", "study_name"):
        v = value.get(key)
        if v is not None and (not isinstance(v, str) or not v):
            rules.err(path + (key,), f"sweep.{key} must be a non-empty string, found {describe(v)}")
        out[key] = v
    prune = value.get("prune")
    if prune is not None and not isinstance(prune, bool):
        rules.err(path + ("prune",), f"sweep.prune must be true or false, found {prune!r}")
    out["prune"] = prune
    timeout = value.get("timeout")
    if timeout is not None and (not is_number(timeout) or not timeout > 0 or timeout != timeout
                                or timeout == float("inf")):
        rules.err(path + ("timeout",), f"sweep.timeout must be a number of seconds > 0, found {timeout!r}")
    out["timeout"] = timeout
    return out
