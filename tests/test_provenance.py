"""The observer hook: the Protocol, attaching, detaching, writing past it."""

from __future__ import annotations

from typing import Any

import pytest

from ato.adict import ADict
from ato.errors import FrozenConfigError
from ato.observers import (
    ConfigObserver,
    attach_observer,
    delete_through,
    detach_observer,
    node_path,
    write_through,
)
from ato.provenance import Recorder, Source


class Log:
    """An observer that writes everything and remembers what it saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []

    def write(self, node: ADict, path: tuple[Any, ...], key: Any, value: Any) -> None:
        self.seen.append(("write", (*path, key), value))
        stored = write_through(node, key, value)
        if isinstance(stored, ADict):
            attach_observer(stored, self, (*path, key))

    def delete(self, node: ADict, path: tuple[Any, ...], key: Any) -> None:
        self.seen.append(("delete", (*path, key)))
        delete_through(node, key)

    def create(self, node: ADict, path: tuple[Any, ...], key: Any, value: Any) -> Any:
        self.seen.append(("create", (*path, key)))
        write_through(node, key, value, convert=False)
        attach_observer(value, self, (*path, key))
        return value


def test_an_observer_sees_every_write_with_its_key_path():
    config = ADict(model={"depth": 1}, layers=[{"w": 1}])
    log: ConfigObserver = Log()
    attach_observer(config, log)
    config.model.depth = 50
    config["lr"] = 0.1
    config.layers[0].w = 2
    del config.lr
    assert log.seen == [  # type: ignore[attr-defined]
        ("write", ("model", "depth"), 50),
        ("write", ("lr",), 0.1),
        ("write", ("layers", 0, "w"), 2),
        ("delete", ("lr",)),
    ]
    assert node_path(config.layers[0]) == ("layers", 0)
    detach_observer(config)
    config.after = 1
    assert len(log.seen) == 4  # type: ignore[attr-defined]
    assert config == {"model": {"depth": 50}, "layers": [{"w": 2}], "after": 1}


def test_default_creation_goes_through_the_observer():
    config = ADict.auto()
    log = Log()
    attach_observer(config, log)
    config.model.depth = 50
    assert log.seen == [("create", ("model",)), ("write", ("model", "depth"), 50)]


def test_reads_after_an_observer_skips_a_write_show_the_stored_value():
    config = ADict(lr=0.1)
    assert config.lr == 0.1  # read once: the fast path now holds it

    class Skipper(Log):
        def write(self, node: ADict, path: tuple[Any, ...], key: Any, value: Any) -> None:
            pass

    attach_observer(config, Skipper())
    config.lr = 0.5
    assert config.lr == 0.1 and config["lr"] == 0.1


def test_write_through_passes_a_frozen_config_and_converts():
    config = ADict(a=1).freeze()
    with pytest.raises(FrozenConfigError):
        config.b = {}
    stored = write_through(config, "b", {"c": 1})
    assert type(stored) is ADict and config.b.c == 1
    assert delete_through(config, "a") == 1 and "a" not in config


def test_recorder_history_and_skipping():
    config = ADict()
    recorder = Recorder()
    recorder.root = config
    attach_observer(config, recorder)
    recorder.source = Source("view", "base")
    config.model = {"depth": 50}
    config.model.depth = 101
    recorder.skipping = True
    config.lr = 1.0
    recorder.skipping = False
    detach_observer(config)
    assert [p.value for p in recorder.provenance(("model", "depth"))] == [50, 101]
    assert "lr" not in config


def test_a_config_deeper_than_pythons_stack_is_assembled():
    # A dotted TOML key of thousands of parts loads fine; assembling it must too.
    from ato.scope import Scope

    deep = inner = ADict()
    for _ in range(5000):
        inner.n = ADict()
        inner = inner.n
    inner.leaf = 1
    scope = Scope(name="deep")
    scope.observe("deep_view", deep, default=True)
    config = scope.apply()
    assert config.n.n.n.n is not None
    assert scope.provenance("n" + ".n" * 4999 + ".leaf")[0].value == 1
