"""Shell completion of file and run-folder arguments (click's ``shell_complete``; click only)."""
import os

RUN_MARKERS = ("model.h5", "history.csv")


def _entries(incomplete):
    head, tail = os.path.split(incomplete)
    try:
        names = sorted(os.listdir(head or "."))
    except OSError:
        return []
    return [os.path.join(head, n) for n in names if n.startswith(tail) and (tail or not n.startswith("."))]


def _is_run(path):
    return any(os.path.isfile(os.path.join(path, m)) for m in RUN_MARKERS) or \
        (os.path.isdir(path) and any(n.startswith("trial-") for n in os.listdir(path)))


def complete_runs(ctx, param, incomplete):
    """Run folders (and sweep folders) first; other folders end in / to go into them. With nothing typed
    yet, the runs under ./runs are offered."""
    from click.shell_completion import CompletionItem

    if not incomplete and os.path.isdir("runs"):
        incomplete = "runs" + os.sep
    items = []
    for path in _entries(incomplete):
        if not os.path.isdir(path):
            continue
        items.append(CompletionItem(path if _is_run(path) else path + os.sep))
    return items


def complete_specs(ctx, param, incomplete):
    """YAML files and folders (a folder ends in /)."""
    from click.shell_completion import CompletionItem

    items = []
    for path in _entries(incomplete):
        if os.path.isdir(path):
            items.append(CompletionItem(path + os.sep))
        elif path.endswith((".yaml", ".yml")):
            items.append(CompletionItem(path))
    return items


def complete_runs_and_files(ctx, param, incomplete):
    """A run folder, a model file or a spec: run folders, then files."""
    from click.shell_completion import CompletionItem

    runs = complete_runs(ctx, param, incomplete)
    seen = {item.value for item in runs}
    return runs + [CompletionItem(p) for p in _entries(incomplete)
                   if os.path.isfile(p) and p.endswith((".yaml", ".yml", ".h5", ".keras")) and p not in seen]
