"""The expression language of ``Lambda`` layers in a spec: a small, safe, differentiable language.

    - Lambda: "x * sigmoid(x)"                         # swish, by hand
    - Lambda: {function: "ops.mean(x, axis=1)"}        # the ops. prefix is optional
    - Lambda: {function: "x[0] - x[1]"}                # several inputs arrive as a list x

An expression is one Python-syntax expression, parsed with :mod:`ast` and run by a small interpreter
(never ``eval``). It may use: the input ``x``; numbers, ``True``/``False``/``None``, ``pi`` and ``e``;
``+ - * / ** @`` and unary ``-``/``+``; indexing and slicing with constants (``x[:, 0]``, ``x[0]``);
tuples and lists of these; and calls of the functions in :data:`FUNCTIONS` (kspec's differentiable ops)
or of any registered activation (``relu``, ``gelu``, ``softplus``, ...), by name or as ``ops.NAME``,
with positional and keyword arguments. Anything else -- other names, attribute access, imports,
comprehensions, lambdas, strings, dunder names -- is refused with the column where it starts.

A Python reference ``module:function`` is also accepted, in a spec or a model file, but only where
running code is allowed (``--allow-code`` or ``KSPEC_ALLOW_CODE=1``): importing a module named in a file
can run any code. That is all the switch allows: Python bytecode saved in a model file (a Keras
``lambda``) is never loaded by a spec run or the command line.
"""
import ast
import functools
import math

from kspec import backend, registry, user_code
from kspec.engine import Tensor, ops

# kspec.engine.ops functions an expression may call (all differentiable, none touch files or state).
FUNCTIONS = (
    "abs", "add", "subtract", "multiply", "divide", "negative", "power", "square", "sqrt", "exp", "expm1",
    "log", "log1p", "sign", "erf", "tanh", "sigmoid", "relu", "softmax", "log_softmax", "maximum",
    "minimum", "clip", "where", "stop_gradient", "sum", "mean", "max", "min", "logsumexp", "reshape",
    "flatten", "transpose", "expand_dims", "squeeze", "broadcast_to", "concatenate", "stack", "repeat",
    "tile", "matmul",
)
CONSTANTS = {"pi": math.pi, "e": math.e}
INPUT_NAME = "x"
PREFIX = "ops"
MAX_LENGTH = 2000
MAX_DEPTH = 60
MAX_CONSTANT_BITS = 4096  # a folded integer constant beyond this (about 1e1233) is refused
_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: _power(a, b), ast.MatMult: lambda a, b: a @ b}
# functions whose integer arguments multiply the size of their output
_GROWING = ("repeat", "tile", "broadcast_to", "reshape")
_UNARY = {ast.USub: lambda a: -a, ast.UAdd: lambda a: +a}


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _power(a, b):
    """``a ** b``, refusing Python numbers whose exact result would be huge (``10 ** 10 ** 10`` would
    take Python minutes and gigabytes to compute)."""
    if _is_number(a) and _is_number(b):
        _check_power(a, b)
    return a ** b


def _check_power(a, b):
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1 \
            and b * math.log2(abs(a)) > MAX_CONSTANT_BITS:
        raise ExpressionError(f"the constant {a} ** {b} is too large (more than {MAX_CONSTANT_BITS} bits)",
                              hint="write a float (e.g. 1e30) or a smaller exponent")


def _check_size(value, what):
    """An integer constant that becomes an array size must be at most the budget in elements."""
    from kspec.backend import memory
    if isinstance(value, int) and not isinstance(value, bool) and value * 4 > memory.budget():
        raise ExpressionError(f"{what} {value} would need {memory.format_size(value * 4)} or more, over "
                              f"kspec's memory budget of {memory.format_size(memory.budget())}",
                              hint=memory.HINT)


class ExpressionError(ValueError):
    """An expression that is not in the language; ``offset`` is the 0-based column in the text."""

    def __init__(self, message, offset=None, hint=None):
        super().__init__(message)
        self.message, self.offset, self.hint = message, offset, hint


def code_allowed():
    """Whether Python references (``module:function``) may be imported (:mod:`kspec.user_code`)."""
    return user_code.code_allowed()


def is_reference(text):
    return user_code.is_reference(text)


def function_names():
    """Every function name an expression may call."""
    return sorted(set(FUNCTIONS) | set(registry.names("activation")))


def check_function(text):
    """Raise :class:`ExpressionError` unless ``text`` is a valid expression (or an allowed reference)."""
    if is_reference(text):
        if not code_allowed():
            raise ExpressionError(
                f"{text!r} is a Python reference; kspec does not import code named in a spec or a model "
                f"file unless told to, because importing a module can run anything",
                hint="pass --allow-code (Python: allow_code=True) if you trust this file, or write "
                     "the function as an expression, e.g. \"x * sigmoid(x)\"")
        return
    parse(text)


def to_function(text):
    """A function ``f(x) -> Tensor`` for an expression or an allowed ``module:function`` reference."""
    if is_reference(text):
        check_function(text)
        try:
            target = user_code.load("activation", text)
        except user_code.UserCodeError as e:
            raise ExpressionError(str(e)) from None

        @functools.wraps(target)
        def referenced(*args, **kwargs):
            return target(*args, **kwargs)
        referenced.keras_name = text.strip()
        return referenced
    tree = parse(text)

    def expression(x):
        return _Evaluator(x).run(tree.body)
    expression.keras_name = text
    expression.__doc__ = f"kspec expression: {text}"
    return expression


def parse(text):
    """The checked :class:`ast.Expression` of ``text``."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression is a string, found {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is too long ({len(text)} characters, at most {MAX_LENGTH})")
    source = text.strip()
    lead = len(text) - len(text.lstrip())
    if not source:
        raise ExpressionError("the expression is empty", hint='e.g. function: "x * sigmoid(x)"')
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as e:
        offset = None if e.offset is None else lead + max(e.offset - 1, 0)
        raise ExpressionError(f"invalid expression: {e.msg}", offset,
                              hint='e.g. "x * sigmoid(x)" or "ops.mean(x, axis=1)"') from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("the expression is too deeply nested") from None
    _Checker(lead).visit_root(tree)
    return tree


class _Checker:
    """Walks the tree and refuses every construct outside the language."""

    def __init__(self, lead):
        self.lead = lead
        self.allowed = set(function_names())

    def fail(self, node, message, hint=None):
        offset = getattr(node, "col_offset", None)
        raise ExpressionError(message, None if offset is None else self.lead + offset, hint)

    def visit_root(self, tree):
        self.visit(tree.body, 0)

    def visit(self, node, depth):
        if depth > MAX_DEPTH:
            self.fail(node, "the expression is too deeply nested")
        d = depth + 1
        if isinstance(node, ast.Constant):
            if not (node.value is None or node.value is Ellipsis
                    or isinstance(node.value, (bool, int, float))):
                self.fail(node, f"{type(node.value).__name__} constants are not part of the expression "
                                f"language (numbers, true/false and None are)")
        elif isinstance(node, ast.Name):
            if node.id != INPUT_NAME and node.id not in CONSTANTS:
                hint = None
                if node.id in self.allowed:
                    hint = f"{node.id} is a function: call it, {node.id}(x)"
                self.fail(node, f"unknown name {node.id!r}: an expression uses the input {INPUT_NAME!r}, "
                                f"numbers, pi, e and calls of kspec functions", hint)
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                self.fail(node, f"the operator {type(node.op).__name__} is not allowed (+ - * / ** @ are)")
            self.visit(node.left, d)
            self.visit(node.right, d)
            self.fold(node)
        elif isinstance(node, ast.UnaryOp):
            if type(node.op) not in _UNARY:
                self.fail(node, f"the operator {type(node.op).__name__} is not allowed (unary - and + are)")
            self.visit(node.operand, d)
        elif isinstance(node, ast.Call):
            self.function(node.func)
            for arg in node.args:
                if isinstance(arg, ast.Starred):
                    self.fail(arg, "*arguments are not allowed")
                self.visit(arg, d)
            for kw in node.keywords:
                if kw.arg is None:
                    self.fail(kw.value, "**arguments are not allowed")
                if kw.arg.startswith("_"):
                    self.fail(kw.value, f"the argument name {kw.arg!r} is not allowed")
                self.visit(kw.value, d)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for item in node.elts:
                if isinstance(item, ast.Starred):
                    self.fail(item, "*unpacking is not allowed")
                self.visit(item, d)
        elif isinstance(node, ast.Subscript):
            self.visit(node.value, d)
            self.index(node.slice, d)
        elif isinstance(node, ast.Attribute):
            self.fail(node, f"attribute access (.{node.attr}) is not allowed; call functions by name, "
                            f"e.g. mean(x, axis=1) or {PREFIX}.mean(x, axis=1)")
        else:
            what = {ast.Lambda: "lambdas", ast.ListComp: "comprehensions", ast.GeneratorExp: "generators",
                    ast.SetComp: "comprehensions", ast.DictComp: "comprehensions",
                    ast.Compare: "comparisons", ast.BoolOp: "and/or", ast.IfExp: "if-expressions",
                    ast.Dict: "dicts", ast.Set: "sets", ast.JoinedStr: "f-strings",
                    ast.NamedExpr: "assignments (:=)"}.get(type(node), type(node).__name__)
            self.fail(node, f"{what} are not part of the expression language")

    def fold(self, node):
        """Compute a constant operation (both sides numbers) with bounds, so that a huge constant such as
        ``10 ** 10 ** 10`` is refused here, at its column, instead of hanging the run."""
        left, right = _constant(node.left), _constant(node.right)
        if left is None or right is None:
            return
        try:
            if isinstance(node.op, ast.Pow):
                _check_power(left, right)
            value = _BINOPS[type(node.op)](left, right)
        except ExpressionError as e:
            self.fail(node, e.message, e.hint)
        except OverflowError:
            self.fail(node, "the constant overflows (it is beyond the range of floats)")
        except (ArithmeticError, ValueError, TypeError) as e:
            self.fail(node, f"the constant expression fails: {e}")
        if isinstance(value, int) and value.bit_length() > MAX_CONSTANT_BITS:
            self.fail(node, f"the constant is too large (more than {MAX_CONSTANT_BITS} bits)")
        node.kspec_value = value

    def index(self, node, depth):
        if isinstance(node, ast.Slice):
            for part in (node.lower, node.upper, node.step):
                if part is not None:
                    self.constant_int(part)
        elif isinstance(node, ast.Tuple):
            for item in node.elts:
                self.index(item, depth + 1)
        elif isinstance(node, ast.Constant) and node.value in (None, Ellipsis):
            pass
        else:
            self.constant_int(node)

    def constant_int(self, node):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            node = node.operand
        if not (isinstance(node, ast.Constant) and isinstance(node.value, int)
                and not isinstance(node.value, bool)):
            self.fail(node, "an index is an integer constant, a slice of them, None or ...")

    def function(self, func):
        if isinstance(func, ast.Attribute):
            if not (isinstance(func.value, ast.Name) and func.value.id == PREFIX):
                self.fail(func, f"attribute access is not allowed (only {PREFIX}.NAME calls are)")
            name = func.attr
        elif isinstance(func, ast.Name):
            name = func.id
        else:
            self.fail(func, "only functions called by name can be called")
        if name not in self.allowed:
            from kspec.errors import did_you_mean
            self.fail(func, f"unknown function {name!r}{did_you_mean(name, sorted(self.allowed))}",
                      hint="call kspec ops (mean, sum, exp, log, maximum, reshape, ...) or activations "
                           "(relu, sigmoid, tanh, ...) by name")


def _constant(node):
    """The number a checked node stands for (a literal, folded operation or signed literal), or None."""
    if isinstance(node, ast.Constant) and _is_number(node.value):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _constant(node.operand)
        return None if value is None else _UNARY[type(node.op)](value)
    value = getattr(node, "kspec_value", None)
    return value if _is_number(value) else None


def _check_growth(name, args, kwargs):
    """The output size of repeat/tile/broadcast_to/reshape from their constant arguments, against the
    budget, before the array is made."""
    import numpy as np
    x = args[0] if args else kwargs.get("x")
    base = int(np.prod(getattr(x, "shape", ()) or (1,), dtype=np.int64)) or 1
    sizes = [v for v in list(args[1:]) + list(kwargs.values()) if not isinstance(v, (Tensor, str))]
    total = 1
    for v in sizes:
        for item in (v if isinstance(v, (tuple, list)) else [v]):
            if isinstance(item, int) and not isinstance(item, bool) and item > 0:
                total *= item
    _check_size(total * (base if name in ("repeat", "tile") else 1), f"{name}: an output of")


class _Evaluator:
    """Runs a checked tree on the input ``x`` (Tensors flow through kspec ops, so it trains)."""

    def __init__(self, x):
        self.x = x

    def run(self, node):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.x if node.id == INPUT_NAME else CONSTANTS[node.id]
        if isinstance(node, ast.BinOp):
            left, right = self.run(node.left), self.run(node.right)
            if isinstance(right, Tensor) and not isinstance(left, Tensor) and _is_number(left):
                left = Tensor(backend.xp.asarray(left, dtype=right.data.dtype))  # 2 ** x: keep x's dtype
            return _BINOPS[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](self.run(node.operand))
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            fn = getattr(ops, name) if name in FUNCTIONS else registry.lookup("activation", name)
            args = [self.run(a) for a in node.args]
            kwargs = {kw.arg: self.run(kw.value) for kw in node.keywords}
            if name in _GROWING:
                _check_growth(name, args, kwargs)
            return fn(*args, **kwargs)
        if isinstance(node, ast.Tuple):
            return tuple(self.run(e) for e in node.elts)
        if isinstance(node, ast.List):
            return [self.run(e) for e in node.elts]
        if isinstance(node, ast.Subscript):
            return self.run(node.value)[self.key(node.slice)]
        raise ExpressionError(f"cannot run {type(node).__name__}")  # the checker refuses these

    def key(self, node):
        if isinstance(node, ast.Slice):
            return slice(*(None if p is None else self.run(p) for p in (node.lower, node.upper, node.step)))
        if isinstance(node, ast.Tuple):
            return tuple(self.key(e) for e in node.elts)
        return self.run(node)
