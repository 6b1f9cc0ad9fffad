"""A model's layer graph as Graphviz DOT, drawn the way Keras's ``plot_model`` draws it, and rendered
with Graphviz's ``dot`` program when it is installed.

Each layer is a node whose label is a table: a black header with the class name (or ``name
(ClassName)``), then optional rows for the activation and for the input/output shapes, dtype and
trainable state. Edges are 2 px wide. A Sequential model shows its layers in a chain (no input box);
a graph model shows its InputLayers and one edge per connection. The graph: ``rankdir``,
``concentrate=true``, ``dpi``, ``splines=ortho``, record-shaped nodes in Helvetica.
"""
import html
import os
import shutil
import subprocess

from kspec.workbench import WorkbenchError

RENDERED = ("png", "svg", "pdf")


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=False, rankdir="TB", dpi=200,
                 show_layer_activations=False, show_trainable=False, splines="ortho"):
    """The DOT text of ``model`` (defaults as in Keras's ``plot_model``)."""
    options = dict(show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                   show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    lines = ["digraph G {", f"  graph [rankdir={rankdir}, concentrate=true, dpi={dpi}, splines={splines}];",
             "  node [shape=record, fontname=Helvetica, border=0, margin=0];", "  edge [penwidth=2];"]
    layers = list(model.layers)
    for layer in layers:
        lines.append(f"  {_quote(layer.name)} [label={_label(layer, **options)}];")
    for source, destination in _edges(model, layers):
        lines.append(f"  {_quote(source.name)} -> {_quote(destination.name)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _edges(model, layers):
    nodes_of = getattr(model, "_own_nodes", None)
    if nodes_of is None:  # a Sequential model: a chain
        return list(zip(layers, layers[1:]))
    edges = []
    for layer in layers:
        for _, node in nodes_of(layer):
            for tensor in node.input_tensors:
                edge = (tensor.layer, layer)
                if edge not in edges:
                    edges.append(edge)
    return edges


def _label(layer, show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable):
    class_name = getattr(type(layer), "keras_class_name", type(layer).__name__)
    colspan = max(1, int(show_dtype) + int(show_trainable) + (2 if show_shapes else 0))
    header = f"<b>{_h(layer.name)}</b> ({_h(class_name)})" if show_layer_names else f"<b>{_h(class_name)}</b>"
    table = ('<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">'
             f'<tr><td colspan="{colspan}" bgcolor="black"><font point-size="16" color="white">{header}'
             "</font></td></tr>")
    activation = getattr(layer, "activation", None)
    if show_layer_activations and activation is not None:
        name = getattr(activation, "keras_name", None) or getattr(activation, "__name__", str(activation))
        table += (f'<tr><td bgcolor="white" colspan="{colspan}"><font point-size="14">'
                  f"Activation: <b>{_h(name)}</b></font></td></tr>")
    cells = []
    if show_shapes:
        if class_name != "InputLayer":
            cells.append(_cell(f"Input shape: <b>{_shape(layer.input_shape)}</b>"))
        cells.append(_cell(f"Output shape: <b>{_shape(layer.output_shape)}</b>"))
    if show_dtype:
        cells.append(_cell(f"Output dtype: <b>{_h(str(getattr(layer, 'dtype', None) or '?'))}</b>"))
    if show_trainable and layer.weights:
        cells.append('<td bgcolor="forestgreen"><font point-size="14" color="white"><b>Trainable</b></font></td>'
                     if layer.trainable else
                     '<td bgcolor="firebrick"><font point-size="14" color="white"><b>Non-trainable</b></font></td>')
    if cells:
        table += f"<tr>{''.join(cells)}</tr>"
    return table + "</table>>"


def _cell(text):
    return f'<td bgcolor="white"><font point-size="14">{text}</font></td>'


def _shape(shape):
    return "?" if shape is None else _h(str(shape))


def _h(text):
    return html.escape(text, quote=False)


def _quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(dot_text, path):
    """Render DOT text to ``path`` (.png, .svg or .pdf) with Graphviz's ``dot``."""
    fmt = os.path.splitext(path)[1].lstrip(".").lower()
    if fmt not in RENDERED:
        raise WorkbenchError(f"{path}: write .png, .svg or .pdf (or leave out -o for DOT text on stdout)")
    program = shutil.which("dot")
    if program is None:
        raise WorkbenchError("rendering needs Graphviz's dot program, which is not installed "
                             "(apt-get install graphviz, brew install graphviz, ...); without -o the graph "
                             "is printed as DOT text, which any Graphviz viewer reads")
    done = subprocess.run([program, f"-T{fmt}", "-o", os.fspath(path)], input=dot_text.encode("utf-8"),
                          capture_output=True, timeout=300)
    if done.returncode != 0:
        raise WorkbenchError(f"dot failed: {done.stderr.decode('utf-8', 'replace').strip()}")
    return path
