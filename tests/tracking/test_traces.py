"""What `ato traces` says changed between two versions of a traced function."""

from __future__ import annotations

from ato.tracking.runs import FingerprintRecord
from ato.tracking.traces import _change


def _record(callees: dict[str, str], own: str = "f1") -> FingerprintRecord:
    return FingerprintRecord("forward", "static", own, callees=callees)


def test_a_callee_named_by_a_registry_entry_in_one_version_is_the_same_callee():
    old = _record({"m.vit": "a", "m.block": "b"})  # an older ato, or reached directly
    new = _record({'entry:[["MODELS", "vit"]]:m.vit': "a", "m.block": "b"})
    assert _change(old, new) is None
    edited = _record({'entry:[["MODELS", "vit"]]:m.vit': "c", "m.block": "b"})
    assert _change(old, edited) == "calls m.vit"
    annotated = _record({'entry:[["MODELS", "vit"]]:annotated:m.Norm': "n"})
    assert _change(_record({}), annotated) == "calls m.Norm"
    assert _change(old, _record(old.callees or {}, own="f2")) == "the function itself"
