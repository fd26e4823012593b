"""What the tracker stores, checked and converted before it is buffered: metric keys,
values and steps, JSON for configs and tags, the size and digest of artifact files."""

from __future__ import annotations

import hashlib
import math
import warnings
from typing import Any

from ato.errors import AtoWarning, MetricValueError

__all__ = ["MAX_KEY_BYTES", "check_key", "file_facts", "jsonable", "metric_number", "step_number"]

# PostgreSQL's btree index entries hold up to ~2700 bytes (run_id, key, step).
MAX_KEY_BYTES = 1024


def jsonable(value: Any) -> Any:
    """``value`` as JSON can hold it (as :func:`ato.config_json.encode` writes it: tuples
    as lists, non-finite floats and other objects as text, arrays as lists); a stored
    value is for reading, never executed."""
    from ato.config_json import encode

    return encode(value)[0]


def metric_number(key: Any, value: Any) -> float:
    """``value`` as a float, or an error naming ``key`` for what is not a real number."""
    value = _one_element(value)  # np.array(["0.5"]) is text, as "0.5" is
    if isinstance(value, (str, bytes)) or value is None or isinstance(value, complex):
        raise MetricValueError(
            f"Metric {key!r} got {type(value).__name__} {value!r:.40}; a metric is a real "
            f"number (int, float, numpy or torch scalar). Log text as a tag or an artifact."
        )
    try:
        number = float(value)
        if math.isinf(number) and not value == number:  # 1e4000 as a longdouble, a Decimal
            raise OverflowError
        if abs(number) >= _EXACT and not isinstance(value, float):
            _warn_if_inexact(key, value, number)
        return number
    except OverflowError:
        raise MetricValueError(
            f"Metric {key!r} got {type(value).__name__} {value!r:.40}..., which is too "
            f"large for a float (a metric is stored as a 64-bit float)."
        ) from None
    except (TypeError, ValueError):
        raise MetricValueError(
            f"Metric {key!r} got {type(value).__name__} {value!r:.40}, which is not a "
            f"number; for an array or tensor log one element, e.g. value.item() or "
            f"value.mean()."
        ) from None


_EXACT = float(2**53)  # a float holds every int up to this one


def _warn_if_inexact(key: Any, value: Any, number: float) -> None:
    """Warn when the float stored for an int differs from it (past 2**53)."""
    try:
        exact = int(value) == int(number)
    except (TypeError, ValueError, OverflowError):
        return
    if not exact:
        warnings.warn(
            f"Metric {key!r}: {value} is stored as the float {number!r} (a metric is a "
            f"64-bit float, exact for integers up to 2**53). To keep every digit, log it "
            f"as a tag or in the config.",
            AtoWarning,
            stacklevel=4,
        )


def _one_element(value: Any) -> Any:
    """A one-element array or tensor as its element (a tensor detached from autograd
    first, which would warn); anything else as it is."""
    if isinstance(value, (int, float)):  # the common case first: it is logged per step
        return value
    detach = getattr(value, "detach", None)
    if callable(detach) and getattr(value, "requires_grad", False):
        value = detach()
    shape, item = getattr(value, "shape", None), getattr(value, "item", None)
    if shape is None or not callable(item):
        return value
    try:
        size = value.numel() if callable(getattr(value, "numel", None)) else value.size
        return item() if size == 1 else value
    except Exception:  # an object with a shape of its own kind: float() decides
        return value


def step_number(key: Any, step: Any, low: int, high: int) -> int:
    """``step`` as an int in ``[low, high]`` (what the metrics table holds), or an error."""
    try:
        if isinstance(step, bool):  # True is an int to Python, never a step
            raise TypeError
        number = int(step.__index__())
    except (AttributeError, TypeError):
        raise MetricValueError(
            f"Metric {key!r}: step must be an integer, not {type(step).__name__} {step!r:.40}."
        ) from None
    if low <= number <= high:
        return number
    if high < 2**63 - 1:
        raise MetricValueError(
            f"Metric {key!r}: step {number} is outside the 32-bit integers this "
            f"PostgreSQL database stores steps in (its metrics table was created and "
            f"filled by ato 2.x). To store 64-bit steps, when no run is logging, execute: "
            f"ALTER TABLE metrics ALTER COLUMN step TYPE BIGINT; ALTER TABLE "
            f"metric_summaries ALTER COLUMN last_step TYPE BIGINT (the first rewrites the "
            f"table)."
        )
    raise MetricValueError(
        f"Metric {key!r}: step {number} is outside the 64-bit integers a database "
        f"stores (-2**63 to 2**63 - 1)."
    )


def check_key(key: Any) -> None:
    """Raise unless ``key`` is text that every database can store and index."""
    if type(key) is not str:
        raise MetricValueError(f"A metric key must be a string, not {key!r}.")
    if not key.strip():
        raise MetricValueError(
            f"A metric key must name the metric, not be {key!r}; e.g. 'val_loss'."
        )
    if "\x00" in key:
        raise MetricValueError(
            f"Metric key {key!r} contains a NUL character, which databases cannot store "
            f"in text; remove it."
        )
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError as error:
        raise MetricValueError(
            f"Metric key {key!r} is not valid Unicode text ({error.reason} at index "
            f"{error.start}), e.g. a file name decoded with surrogateescape; decode it "
            f"with errors='replace' first."
        ) from None
    if size > MAX_KEY_BYTES:
        raise MetricValueError(
            f"Metric key {key[:40]!r}... is {size} bytes long; keys are indexed and may "
            f"be at most {MAX_KEY_BYTES} bytes (UTF-8). Use a shorter name."
        )


def file_facts(path: str) -> tuple[int | None, str | None]:
    """``(size, SHA-256)`` of the file at ``path``; ``(None, None)`` when it cannot be read."""
    try:
        digest = hashlib.sha256()
        size = 0
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
        return size, digest.hexdigest()
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return None, None
