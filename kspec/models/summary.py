"""``model.summary()``: Keras 3's table (reference §8), rendered here exactly as Keras's ``rich`` renders
it without colour: heavy-head box characters, rich's column-width rule, word wrapping with ``…`` for
over-long words, ``f"{n:,}"`` counts and B/KB/MB sizes.

Graph models plug in with two optional methods: ``_summary_layers()`` (the rows, defaults to ``layers``)
and ``_summary_connections(layer) -> str`` (the "Connected to" cell). A model with the latter whose
``_summary_sequential_like()`` is False gets Keras's four-column functional table (default width 108).
"""
import math
import re
import shutil
import sys

# rich's HEAVY_HEAD box: (left, fill, divider, right) for each kind of line.
_TOP = ("┏", "━", "┳", "┓")
_HEAD_ROW = ("┃", " ", "┃", "┃")
_HEAD_RULE = ("┡", "━", "╇", "┩")
_ROW = ("│", " ", "│", "│")
_ROW_RULE = ("├", "─", "┼", "┤")
_BOTTOM = ("└", "─", "┴", "┘")

_WORD = re.compile(r"\s*\S+\s*")


def format_summary(model, line_length=None, positions=None, expand_nested=False, show_trainable=False,
                   layer_range=None, columns=None):
    """The summary text, ending with a newline. ``columns`` is the console width (default: the terminal's,
    80 when not a terminal); the table is ``min(88, columns - 4)`` wide unless ``line_length`` is given."""
    columns = columns or shutil.get_terminal_size().columns
    connections = getattr(model, "_summary_connections", None)
    sequential_like = connections is None or getattr(model, "_summary_sequential_like", lambda: True)()
    if sequential_like:
        default_length, positions = 88, positions or [0.45, 0.80, 1.0]
        header, justify = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    else:
        default_length, positions = 108, positions or [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        justify = ["left", "left", "right", "left"]
    if show_trainable:
        default_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        justify.append("center")
    line_length = line_length or min(default_length, columns - 4)
    widths = _column_widths(line_length, positions)

    layers = list(getattr(model, "_summary_layers", lambda: model.layers)())
    start, stop = _layer_index_bounds(layers, layer_range)
    rows = []
    for layer in layers[start:stop]:
        rows += _layer_rows(layer, connections if not sequential_like else None, show_trainable, expand_nested)

    table = _render_table(header, justify, rows, widths, line_length)
    lines = _wrap_text(f'Model: "{model.name}"', columns)
    lines += [line[:columns] for line in table]
    for line in _totals(model):
        lines += _wrap_text(line, columns)
    return "".join(line + "\n" for line in lines)


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None, stream=None):
    """Write the summary to ``print_fn`` (one call with the whole text, as Keras does) or ``stream``
    (stdout by default)."""
    text = format_summary(model, line_length=line_length, positions=positions, expand_nested=expand_nested,
                          show_trainable=show_trainable, layer_range=layer_range)
    if print_fn is not None:
        print_fn(text)
        return
    stream = stream or sys.stdout
    stream.write(text)
    stream.flush()


# -- the rows ---------------------------------------------------------------------------------------------

def format_shape(layer):
    """``(None, 28, 28)``; several outputs as a list; ``?`` before the layer is built."""
    shape = getattr(layer, "output_shape", None)
    if not getattr(layer, "built", False) or shape is None:
        return "?"
    if isinstance(shape, list) and shape and isinstance(shape[0], (tuple, list)):
        return str([_shape_text(s) for s in shape]).replace("'", "")
    return _shape_text(shape)


def _shape_text(shape):
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _layer_rows(layer, connections, show_trainable, expand_nested, level=0):
    prefix = "   " * level + "└ " if level else ""
    if not getattr(layer, "built", True):
        params = "0 (unbuilt)"
    else:
        params = f"{layer.count_params():,}"
    row = [f"{prefix}{layer.name} ({type(layer).__name__})", format_shape(layer), params]
    if connections is not None:
        row.append(connections(layer))
    if show_trainable:
        row.append(("Y" if layer.trainable else "N") if layer.weights else "-")
    rows = [row]
    if expand_nested and getattr(layer, "layers", None):
        for sub in layer.layers:
            rows += _layer_rows(sub, connections, show_trainable, expand_nested, level + 1)
    return rows


def _layer_index_bounds(layers, layer_range):
    if layer_range is None:
        return 0, len(layers)
    if len(layer_range) != 2:
        raise ValueError(f"layer_range must be a list or tuple of length 2. Received: layer_range = "
                         f"{layer_range} of length {len(layer_range)}")
    if not all(isinstance(name, str) for name in layer_range):
        raise ValueError(f"layer_range should contain string type only. Received: {layer_range}")
    lower = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    upper = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not lower or not upper:
        raise ValueError(f"Passed layer_names do not match the layer names in the model. Received: {layer_range}")
    if min(lower) > max(upper):
        return min(upper), max(lower) + 1
    return min(lower), max(upper) + 1


# -- the totals -------------------------------------------------------------------------------------------

def _totals(model):
    trainable = model.trainable_weights
    non_trainable = model.non_trainable_weights
    counts = [_count(trainable), _count(non_trainable)]
    sizes = [_memory(w.data for w in _unique(trainable)), _memory(w.data for w in _unique(non_trainable))]
    optimizer = getattr(model, "optimizer", None)
    built = bool(getattr(model, "compiled", False) and optimizer is not None and getattr(optimizer, "built", False))
    if built:
        arrays = [a for _, a in optimizer.variables]
        counts.append(sum(int(a.size) for a in arrays))
        sizes.append(_memory(arrays))
    lines = [f" Total params: {sum(counts):,} ({readable_memory_size(sum(sizes))})",
             f" Trainable params: {counts[0]:,} ({readable_memory_size(sizes[0])})",
             f" Non-trainable params: {counts[1]:,} ({readable_memory_size(sizes[1])})"]
    if built:
        lines.append(f" Optimizer params: {counts[2]:,} ({readable_memory_size(sizes[2])})")
    return lines


def _count(weights):
    return int(sum(int(w.size) for w in weights))


def _unique(items):
    return list({id(w): w for w in items}.values())


def _memory(arrays):
    """Bytes; integer variables (the optimizer's iteration count) count 4 bytes, as int32 on Keras/JAX."""
    total = 0
    for a in arrays:
        itemsize = 4 if a.dtype.kind in "iu" else a.dtype.itemsize
        total += int(a.size) * itemsize
    return total


def readable_memory_size(size):
    """``780.00 B``, ``3.03 MB``: powers of 1024, two decimals."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


# -- rendering (rich's Table and Text rules, no colour) ------------------------------------------------------

def _column_widths(line_length, positions):
    widths, current = [], 0
    for pos in positions:
        width = int(pos * line_length) - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(width)
        current += width
    return widths


def _rich_widths(widths, line_length):
    """Cell widths (padding included, borders excluded) rich gives fixed-width columns in a table
    ``line_length`` wide: each column is its width plus 2, then the excess is taken evenly."""
    max_width = line_length - (len(widths) + 1)
    cells = [min(w + 2, max_width) for w in widths]
    if sum(cells) > max_width:
        cells = _ratio_reduce(sum(cells) - max_width, [1] * len(cells), cells, cells)
    if sum(cells) < max_width:  # a table with a width expands to it
        cells = [c + pad for c, pad in zip(cells, _ratio_distribute(max_width - sum(cells), cells))]
    return cells


def _ratio_reduce(total, ratios, maximums, values):
    ratios = [r if m else 0 for r, m in zip(ratios, maximums)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return list(values)
    remaining, out = total, []
    for ratio, maximum, value in zip(ratios, maximums, values):
        if ratio and total_ratio > 0:
            distributed = min(maximum, round(ratio * remaining / total_ratio))
            out.append(value - distributed)
            remaining -= distributed
            total_ratio -= ratio
        else:
            out.append(value)
    return out


def _ratio_distribute(total, ratios):
    total_ratio, remaining, out = sum(ratios), total, []
    for ratio in ratios:
        share = math.ceil(ratio * remaining / total_ratio) if total_ratio > 0 else remaining
        out.append(share)
        total_ratio -= ratio
        remaining -= share
    return out


def _render_table(header, justify, rows, widths, line_length):
    cells = _rich_widths(widths, line_length)
    lines = [_rule(_TOP, cells)]
    lines += _render_row(header, justify, cells, _HEAD_ROW, vertical="bottom")
    lines.append(_rule(_HEAD_RULE, cells))
    for i, row in enumerate(rows):
        if i:
            lines.append(_rule(_ROW_RULE, cells))
        lines += _render_row(row, justify, cells, _ROW, vertical="top")
    lines.append(_rule(_BOTTOM, cells))
    return lines


def _rule(box, cells):
    left, fill, divider, right = box
    return left + divider.join(fill * w for w in cells) + right


def _render_row(row, justify, cells, box, vertical):
    left, _, divider, right = box
    wrapped = [_wrap_cell(str(text), w - 2, j) for text, w, j in zip(row, cells, justify)]
    height = max(len(c) for c in wrapped)
    blocks = []
    for lines, w in zip(wrapped, cells):
        blank = [" " * (w - 2)] * (height - len(lines))
        lines = lines + blank if vertical == "top" else blank + lines
        blocks.append([" " + line + " " for line in lines])
    return [left + divider.join(block[i] for block in blocks) + right for i in range(height)]


def _divide_line(text, width, fold):
    """rich's ``divide_line``: offsets at which to break ``text`` so each piece fits ``width``."""
    breaks, offset = [], 0
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group(0)
        word_length = len(word.rstrip())
        if width - offset >= word_length:
            offset += len(word)
        elif word_length > width:
            if fold:
                chunks = [word[i:i + width] for i in range(0, len(word), width)]
                for k, chunk in enumerate(chunks):
                    if start:
                        breaks.append(start)
                    if k == len(chunks) - 1:
                        offset = len(chunk)
                    else:
                        start += len(chunk)
            else:
                if start:
                    breaks.append(start)
                offset = len(word)
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    return breaks


def _split_at(text, offsets):
    bounds = [0] + offsets + [len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:])]


def _rstrip_end(line, width):
    """Drop trailing whitespace beyond ``width`` (rich's ``Text.rstrip_end``)."""
    if len(line) > width:
        excess = len(line) - width
        trailing = len(line) - len(line.rstrip())
        line = line[:len(line) - min(trailing, excess)]
    return line


def _truncate(line, width, overflow):
    if len(line) > width:
        return line[:width - 1] + "…" if overflow == "ellipsis" else line[:width]
    return line


def _wrap_cell(text, width, justify, overflow="ellipsis"):
    """One table cell's lines, each exactly ``width`` characters (rich's Text.wrap + justify)."""
    out = []
    for paragraph in text.split("\n"):
        for line in _split_at(paragraph, _divide_line(paragraph, width, fold=overflow == "fold")):
            line = _rstrip_end(line, width)
            if justify == "left":
                line = _truncate(line, width, overflow).ljust(width)
            elif justify == "right":
                line = _truncate(line.rstrip(), width, overflow)
                line = " " * (width - len(line)) + line
            else:  # center
                line = _truncate(line.rstrip(), width, overflow)
                line = " " * ((width - len(line)) // 2) + line
                line = line.ljust(width)
            out.append(_truncate(line, width, overflow))
    return out


def _wrap_text(text, width):
    """A plain printed line, word-wrapped at the console width (rich folds over-long words)."""
    lines = _split_at(text, _divide_line(text, width, fold=True))
    return [_truncate(_rstrip_end(line, width), width, "fold") for line in lines]
