"""Training and validation curves of runs, as a PNG (matplotlib, an optional extra, on its Agg backend).

One panel per metric; each run is one colour, its training curve solid and its validation curve
dashed. Where ``history.csv`` has a ``stage`` column, each stage's first epoch is marked by a dotted
vertical line labelled with the stage.
"""
import math

from kspec.workbench import WorkbenchError

PANEL_INCHES = (5.0, 4.0)
DPI = 100


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise WorkbenchError("kspec plot needs matplotlib, an optional extra: pip install 'kspec[plot]'") \
            from None
    matplotlib.use("Agg")  # no display needed, and nothing interactive is opened
    import matplotlib.pyplot as plt
    return plt


def choose_metrics(runs, wanted=None):
    """The metrics to draw: ``wanted`` (checked against the runs' histories) or every metric they track."""
    known = list(dict.fromkeys(m for run in runs for m in run.metric_names))
    known.sort(key=lambda m: m != "loss")  # the loss first, then the metrics in the history's order
    if not wanted:
        return known
    unknown = [m for m in wanted if m not in known]
    if unknown:
        raise WorkbenchError(f"no metric {', '.join(map(repr, unknown))} in the runs' histories; "
                             f"they have: {', '.join(known)}")
    return list(dict.fromkeys(wanted))


def plot_runs(runs, path, metrics=None, title=None):
    """Draw ``runs`` (:class:`~kspec.workbench.runs.RunRecord`) into the PNG ``path``.

    Returns what was drawn: ``{"file", "width", "height", "panels": {metric: [curve labels]},
    "stage_marks"}`` (the curve labels are those of each panel's lines, so tests and scripts can check
    the picture's content).
    """
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator
    metrics = choose_metrics(runs, metrics)
    if not metrics:
        raise WorkbenchError("the runs' histories hold no metric to plot")
    fig, axes = plt.subplots(1, len(metrics), figsize=(PANEL_INCHES[0] * len(metrics), PANEL_INCHES[1]),
                             dpi=DPI, squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    panels, marks = {}, 0
    try:
        for ax, metric in zip(axes[0], metrics):
            for i, run in enumerate(runs):
                color = colors[i % len(colors)]
                for key, style, suffix in ((metric, "-", ""), ("val_" + metric, "--", " (validation)")):
                    values = run.history.get(key)
                    if values is None:
                        continue
                    epochs = list(range(1, len(values) + 1))
                    ax.plot(epochs, values, style, color=color, label=run.label + suffix,
                            marker="o" if len(values) == 1 else None)
                marks += _mark_stages(ax, run, color)
            ax.set_title(metric)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(True, alpha=0.3)
            if _all_positive(ax) and metric.endswith("loss") and _spread(ax) > 100:
                ax.set_yscale("log")  # a loss falling over decades
            panels[metric] = [line.get_label() for line in ax.get_lines()]
        axes[0][0].legend(fontsize="small")
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(path, dpi=DPI, format="png")
        width, height = (round(v) for v in fig.get_size_inches() * DPI)
    finally:
        plt.close(fig)
    return {"file": str(path), "width": width, "height": height, "panels": panels, "stage_marks": marks}


def _mark_stages(ax, run, color):
    """A dotted vertical line (a collection, not a curve) where each stage after the first begins;
    returns how many were drawn."""
    if not run.stages:
        return 0
    starts = [i for i in range(1, len(run.stages)) if run.stages[i] != run.stages[i - 1]]
    if not starts:
        return 0
    ax.vlines([i + 0.5 for i in starts], 0, 1, transform=ax.get_xaxis_transform(), colors=color,
              linestyles=":", linewidth=1)
    for i in starts:
        ax.annotate(f"stage {run.stages[i]}", (i + 0.5, 1), xycoords=ax.get_xaxis_transform(),
                    fontsize="x-small", rotation=90, va="top", ha="right", color=color)
    return len(starts)


def _values(ax):
    return [y for line in ax.get_lines() for y in line.get_ydata() if not math.isnan(y)]


def _all_positive(ax):
    values = _values(ax)
    return bool(values) and min(values) > 0


def _spread(ax):
    values = _values(ax)
    return max(values) / min(values)
