"""What a trial returns: the metric as one number, or a :class:`TrialResultError`."""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import Any

from ato.hyperopt.errors import TrialResultError
from ato.message_text import shown

__all__ = ["as_metric", "plain_metric"]


def as_metric(value: Any, where: str) -> float:
    """``float(value)``, or a :class:`TrialResultError` naming ``where`` and what came
    back when it is no number at all (a conversion that fails, such as an int too large
    for a float, is the trial's failure instead)."""
    if not _not_a_number(value):
        item = getattr(value, "item", None)  # numpy refuses float() of shape (1,)
        if getattr(value, "shape", ()) != () and callable(item):
            value = item()  # the value itself, which may be no number ('3', 1+3j)
        if not _not_a_number(value):
            return float(value)
    if inspect.iscoroutine(value) or inspect.isgenerator(value):
        value.close()  # never run, and never warned about as "never awaited"
    kind = type(value)
    what = f"{kind.__module__}.{kind.__qualname__}".removeprefix("builtins.")
    shape = getattr(value, "shape", None)
    if shape is not None:
        what += f" of shape {tuple(shape)}"
    raise TrialResultError(
        f"The trial function {where} returned {shown(value)} ({what}); it must return "
        f"the metric as one number: an int, a float, or an array or tensor holding one "
        f"value (e.g. `return float(loss.item())`)."
    )


def _not_a_number(value: Any) -> bool:
    if value is None or isinstance(
        value, (str, bytes, complex, Mapping, list, tuple, set, frozenset)
    ):
        return True
    # numpy: complex numbers (float() drops the imaginary part), text, records
    if getattr(getattr(value, "dtype", None), "kind", "f") in ("c", "U", "S", "V"):
        return True
    if getattr(value, "is_complex", None) is not None and callable(value.is_complex):
        try:  # a torch tensor
            if value.is_complex():
                return True
        except Exception:
            pass
    shape = getattr(value, "shape", None)
    if shape is not None:
        try:
            return bool(math.prod(shape) != 1)  # one value, whatever its dimensions
        except Exception:  # a shape that is no sequence of ints: let float() decide
            return False
    kind = type(value)
    return not (hasattr(kind, "__float__") or hasattr(kind, "__index__"))


def plain_metric(metric: float) -> float | str:
    return metric if math.isfinite(metric) else repr(metric)
