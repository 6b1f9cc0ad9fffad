"""The confusion matrix of a classifier on its evaluation data (``kspec evaluate --confusion``)."""
import numpy as np

from kspec.workbench import WorkbenchError


def evaluate_with_confusion(target, data=None, overrides=(), batch_size=None, verbose=0, stream=None):
    """``(metrics, confusion)``: :func:`kspec.run.evaluate`'s metrics, and :func:`confusion_matrix` of the
    model's predictions on the same data (loaded once)."""
    import sys

    from kspec import run

    loaded, x, y, batch_size = run.evaluation_inputs(target, data, overrides, batch_size)
    if len(loaded.output_names) != 1:
        raise WorkbenchError(f"the model has {len(loaded.output_names)} outputs; the confusion matrix is "
                             "computed for a model with one output")
    logs = loaded.model.evaluate(x, y, batch_size=batch_size, verbose=verbose, return_dict=True,
                                 stream=stream or sys.stderr)
    probabilities = loaded.model.predict(x, batch_size=batch_size, verbose=0)
    return run.jsonable(logs), confusion_matrix(y, probabilities, loaded.classes)


def confusion_matrix(y_true, probabilities, class_names=None):
    """``{"classes", "matrix", "samples", "accuracy"}``: ``matrix[i][j]`` counts the samples of true class
    i predicted as class j. Labels are class ids or one-hot rows; predictions are probabilities (argmax,
    or p > 0.5 for one unit). A sequence output counts every time step."""
    from kspec.run import to_classes

    p = np.asarray(probabilities)
    y = np.asarray(y_true)
    units = p.shape[-1] if p.ndim >= 2 else 1
    n_classes = units if units > 1 else 2
    if units > 1:
        predicted = to_classes(p.reshape(-1, units))
    else:
        predicted = to_classes(p.reshape(-1, 1))
    if units > 1 and y.ndim == p.ndim and y.shape[-1] == units:
        truth = y.reshape(-1, units).argmax(axis=-1)  # one-hot (or smoothed) rows
    else:
        flat = y.reshape(-1).astype(np.float64)
        if flat.size != predicted.size or not np.all(np.isfinite(flat)) or np.any(flat != np.round(flat)) \
                or flat.min(initial=0) < 0 or flat.max(initial=0) >= n_classes:
            raise WorkbenchError("the confusion matrix is for classifiers: the labels are not class ids "
                                 f"0..{n_classes - 1} (nor one-hot rows) matching the model's output")
        truth = flat.astype(np.int64)
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    names = [str(c) for c in class_names] if class_names is not None and len(class_names) == n_classes \
        else [str(i) for i in range(n_classes)]
    total = int(matrix.sum())
    return {"classes": names, "matrix": matrix.tolist(), "samples": total,
            "accuracy": float(np.trace(matrix) / total) if total else None}


def format_confusion(result):
    """The matrix as text: rows are the true classes, columns the predicted ones."""
    names = result["classes"]
    width = max(max(len(n) for n in names), max(len(str(v)) for row in result["matrix"] for v in row))
    corner = "true \\ predicted"
    label = max(len(n) for n in names + [corner])
    lines = [f"{corner:<{label}}  " + "  ".join(f"{n:>{width}}" for n in names)]
    for name, row in zip(names, result["matrix"]):
        lines.append(f"{name:<{label}}  " + "  ".join(f"{v:>{width}}" for v in row))
    accuracy = "" if result["accuracy"] is None else f", accuracy {result['accuracy']:.4f}"
    lines.append(f"{result['samples']} samples{accuracy}")
    return "\n".join(lines)
