"""``ato plot RUN... --metric KEY [-o curves.png]``: the curves of several runs in one
figure. matplotlib is an optional extra (``pip install 'ato[plot]'``)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ato.commands.output import Output
from ato.errors import OptionalDependencyError, UsageError

__all__ = ["plot"]


def plot(finder: Any, args: argparse.Namespace, out: Output) -> int:
    try:
        import matplotlib  # type: ignore[import-not-found,unused-ignore]

        matplotlib.use("Agg")  # a file, never a window: this may run over ssh or in CI
        import matplotlib.pyplot as plt  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise OptionalDependencyError(
            "ato plot needs matplotlib, which is not installed. Install it with: "
            "pip install 'ato[plot]'"
        ) from None
    runs = [finder.resolve_run_or_raise(spec) for spec in args.runs]
    curves = []
    for run in runs:
        points = finder.metrics(run.id, args.metric)
        if not points:
            logged = ", ".join(sorted(run.summary)) or "none"
            raise UsageError(
                f"Run {run.id} has no metric {args.metric!r} (it logged: {logged}). "
                f"Choose one with --metric."
            )
        curves.append((run, [p.step for p in points], [p.value for p in points]))
    figure, axes = plt.subplots(figsize=(8, 5))
    try:
        for run, steps, values in curves:
            label = f"run {run.id}" + (f" ({', '.join(run.tags)})" if run.tags else "")
            axes.plot(steps, values, label=label)
        axes.set_xlabel("step")
        axes.set_ylabel(args.metric)
        axes.legend()
        axes.grid(alpha=0.3)
        target = os.path.abspath(args.output)
        try:
            figure.savefig(target, dpi=120, bbox_inches="tight")
        except (OSError, ValueError) as error:  # a missing folder, an unknown extension
            raise UsageError(
                f"Cannot write the plot to {target!r}: {error}. Give -o a path in an "
                f"existing, writable folder, ending in .png, .pdf or .svg."
            ) from None
    finally:
        plt.close(figure)
    if out.json_mode:
        out.json({"file": target, "runs": [run.id for run in runs], "metric": args.metric})
    else:
        out.line(f"Wrote {target} ({args.metric} of {len(runs)} runs).")
    return 0
