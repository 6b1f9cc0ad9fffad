"""Small helpers for spec values: type tests, YAML-ready defaults and how values read in messages."""


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def is_step(mapping, table):
    return len(mapping) == 1 and next(iter(mapping)) in table


def plain(value):
    """A default value as YAML-ready data (tuples become lists)."""
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    if isinstance(value, (list,)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return str(value)


def describe(value):
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return f"a mapping ({', '.join(map(str, list(value)[:4]))})"
    return type(value).__name__


def example(kind):
    return {
        "optimizer": "{Adam: {learning_rate: 0.001}}",
        "loss": "{CategoricalCrossentropy: {from_logits: true}}",
        "metric": "accuracy",
        "initializer": "{GlorotUniform: {seed: 1}}",
        "regularizer": "{L1L2: {l1: 0.01, l2: 0.01}}",
        "constraint": "{MaxNorm: {max_value: 2}}",
        "schedule": "{ExponentialDecay: {initial_learning_rate: 0.1, decay_steps: 100, decay_rate: 0.5}}",
        "callback": "{EarlyStopping: {patience: 2}}",
        "activation": "relu",
    }.get(kind, "a name")
