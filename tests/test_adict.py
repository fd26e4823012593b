"""ADict: construction, access, writing, defaults, freezing, copies, tracking."""

from __future__ import annotations

import copy
import json
import operator
import pickle
from collections import OrderedDict
from types import MappingProxyType

import pytest

from ato.adict import ADict
from ato.errors import AtoError, ConfigKeyError, ConfigStructureError, FrozenConfigError
from ato.observers import write_through

# -- construction ------------------------------------------------------------------------


def test_construction_from_mapping_pairs_kwargs_and_several():
    assert ADict({"a": 1}) == {"a": 1}
    assert ADict([("a", 1), ("b", 2)]) == {"a": 1, "b": 2}
    assert ADict(a=1, b=2) == {"a": 1, "b": 2}
    assert ADict({"a": 1}, [("b", 2)], {"a": 3}, c=4) == {"a": 3, "b": 2, "c": 4}
    assert ADict(OrderedDict(x=1)) == {"x": 1}
    assert ADict(MappingProxyType({"x": 1})) == {"x": 1}


def test_nested_dicts_become_adicts_on_construction_and_assignment():
    config = ADict(model={"backbone": {"depth": 50}}, heads=[{"n": 1}, ({"m": 2},)])
    assert type(config.model) is ADict
    assert type(config.model.backbone) is ADict
    assert type(config.heads[0]) is ADict
    assert type(config.heads[1]) is tuple
    assert type(config.heads[1][0]) is ADict
    config.data = {"loader": {"workers": 4}}
    assert config.data.loader.workers == 4
    config["aug"] = [{"name": "flip"}]
    assert config.aug[0].name == "flip"


def test_tuples_stay_tuples():
    config = ADict(betas=(0.9, 0.99))
    assert config.betas == (0.9, 0.99)
    assert type(config.betas) is tuple


@pytest.mark.parametrize(
    ("argument", "fragment"),
    [
        (5, "not int"),
        ("ab", "not str"),
        (None, "not NoneType"),
        ([1, 2], "could not read list as (key, value) pairs"),
        ([("a", 1, 2)], "could not read list"),
    ],
)
def test_construction_rejects_other_types(argument, fragment):
    with pytest.raises(TypeError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        ADict(argument)


def test_is_a_real_dict():
    config = ADict(a=1, b={"c": 2})
    assert isinstance(config, dict)
    assert json.loads(json.dumps(config)) == {"a": 1, "b": {"c": 2}}
    assert dict(**config) == {"a": 1, "b": {"c": 2}}
    assert config == {"a": 1, "b": {"c": 2}}
    assert config == {"a": 1, "b": {"c": 2}}
    assert config != {"a": 1}


# -- reading -----------------------------------------------------------------------------


def test_attribute_and_item_access():
    config = ADict(lr=0.1, batch_size=32, model={"depth": 50})
    assert config.lr == config["lr"] == 0.1
    assert config["lr", "batch_size"] == [0.1, 32]
    assert config[["lr", "batch_size"]] == [0.1, 32]
    assert config.model.depth == 50
    assert "lr" in config
    assert "nope" not in config
    assert len(config) == 3
    assert list(config) == ["lr", "batch_size", "model"]


def test_tuple_key_that_exists_is_read_as_one_key():
    config = ADict({("a", "b"): 1, "a": 2, "b": 3})
    assert config["a", "b"] == 1


def test_methods_win_over_keys_of_the_same_name():
    config = ADict(items=3, update=4)
    assert callable(config.items)
    assert config["items"] == 3
    assert config["update"] == 4


@pytest.mark.parametrize(
    ("config", "key", "fragment"),
    [
        (ADict(lr=0.1), "lr_rate", "'lr_rate' is not in this config. Did you mean 'lr'?"),
        (ADict(batch_size=1), "batchsize", "Did you mean 'batch_size'?"),
        (ADict(a=1, b=2), "zzz", "Its keys: 'a', 'b'."),
        (ADict(), "x", "Its keys: none."),
    ],
)
def test_missing_key_errors_name_the_key_and_close_matches(config, key, fragment):
    with pytest.raises(AttributeError) as as_attribute:
        getattr(config, key)
    assert fragment in str(as_attribute.value)
    with pytest.raises(KeyError) as as_item:
        config[key]
    assert fragment in str(as_item.value)
    assert isinstance(as_item.value, ConfigKeyError)
    assert isinstance(as_item.value, AtoError)


def test_hasattr_and_getattr_default_work():
    config = ADict(a=1)
    assert hasattr(config, "a")
    assert not hasattr(config, "b")
    assert getattr(config, "b", 7) == 7


def test_dunder_keys_are_readable_as_attributes():
    config = ADict(__num_halved__=2)
    assert config.__num_halved__ == 2


def test_get_and_pop_follow_2x():
    config = ADict(a=1)
    assert config.get("a") == 1
    assert config.get("b") is None
    assert config.get("b", 5) == 5
    assert config.pop("b") is None
    assert config.pop("b", 3) == 3
    assert config.pop("a") == 1
    assert config == {}


def test_dir_lists_identifier_keys():
    config = ADict(lr=1, **{"not an identifier": 2})
    names = dir(config)
    assert "lr" in names
    assert "not an identifier" not in names
    assert "freeze" in names


# -- writing -----------------------------------------------------------------------------


def test_attribute_and_item_writes_and_deletes():
    config = ADict()
    config.a = 1
    config["b"] = 2
    config["c", "d"] = [3, 4]
    config["e", "f"] = 0
    assert config == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 0, "f": 0}
    del config.a
    del config["b"]
    del config["c", "d"]
    assert config == {"e": 0, "f": 0}


def test_multi_assignment_with_wrong_count_raises():
    config = ADict()
    with pytest.raises(ConfigStructureError, match="Cannot assign 3 values to 2 keys"):
        config["a", "b"] = [1, 2, 3]


@pytest.mark.parametrize("deleter", [lambda c: c.__delitem__("x"), lambda c: delattr(c, "x")])
def test_deleting_a_missing_key_raises_key_error(deleter):
    with pytest.raises(KeyError, match="'x' is not in this config"):
        deleter(ADict(a=1))


def test_clear_setdefault_popitem_or():
    config = ADict(a=1)
    assert config.setdefault("b", {"c": 1}).c == 1
    assert config.setdefault("a", 5) == 1
    assert config.popitem() == ("b", {"c": 1})
    merged = config | {"z": {"y": 1}}
    assert type(merged) is ADict
    assert merged.z.y == 1
    assert config == {"a": 1}
    assert type({"q": 1} | config) is ADict
    config |= {"w": 2}
    assert config == {"a": 1, "w": 2}
    config.clear()
    assert config == {}


def test_update_shallow_and_recurrent():
    config = ADict(model={"depth": 50, "width": 2}, lr=0.1)
    assert config.update({"model": {"depth": 101}}) is config
    assert config.model == {"depth": 101}
    config = ADict(model={"depth": 50, "width": 2}, lr=0.1)
    config.update({"model": {"depth": 101}}, recurrent=True, lr=0.2)
    assert config == {"model": {"depth": 101, "width": 2}, "lr": 0.2}
    config.update(model=5, recurrent=True)
    assert config.model == 5
    config.update([("pairs", 1)])
    assert config.pairs == 1


def test_update_if_absent_adds_only_missing_keys_recursively():
    config = ADict(lr=0.001, model={"depth": 50})
    config.update_if_absent(lr=0.01, scheduler="cosine", model={"depth": 1, "width": 2})
    assert config == {"lr": 0.001, "scheduler": "cosine", "model": {"depth": 50, "width": 2}}
    config.update_if_absent({"lr": {"nested": 1}})
    assert config.lr == 0.001


def test_filter_replace_keys_raw_and_get_value_by_name():
    config = ADict(a=1, b=2, c=3)
    assert config.filter(lambda key, value: value != 2) is config
    assert config == {"a": 1, "c": 3}
    config.replace_keys(["a", "c"], ["x", "y"])
    assert config == {"x": 1, "y": 3}
    assert config.raw("x") == {"key": "x", "value": 1}
    nested = ADict(model={"layers": [{"width": 64}]})
    assert nested.get_value_by_name("model.layers.0.width") == 64


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [
        (lambda c: c.replace_keys(["a"], ["x", "y"]), ConfigStructureError, "as many target"),
        (lambda c: c.replace_keys(["q"], ["x"]), KeyError, "'q' is not in this config"),
        (
            lambda c: c.get_value_by_name("model.dpth"),
            KeyError,
            "'dpth' is not in model, reading 'model.dpth'. Did you mean 'depth'?",
        ),
        (lambda c: c.get_value_by_name("model.layers.5"), KeyError, "Index 5 is out of range"),
        (lambda c: c.get_value_by_name("a.b"), KeyError, "'b' is not in a"),
    ],
)
def test_structured_access_errors(call, error, fragment):
    config = ADict(a=1, model={"depth": 1, "layers": [1]})
    with pytest.raises(error) as raised:
        call(config)
    assert fragment in str(raised.value)


# -- defaults and auto -------------------------------------------------------------------


def test_auto_creates_intermediate_configs():
    config = ADict.auto()
    config.model.backbone.layers = [64, 128, 256]
    assert config.to_dict() == {"model": {"backbone": {"layers": [64, 128, 256]}}}
    assert type(config.model.backbone) is ADict


def test_auto_does_not_grow_on_a_misspelled_read():
    config = ADict.auto()
    config.use_batchnorm = True
    assert config.use_batchnrom == {}
    assert not config.use_batchnrom  # empty, so falsy
    assert hasattr(config, "anything")
    assert config == {"use_batchnorm": True}
    assert "use_batchnrom" not in config and config.accessed_keys == set()


def test_an_auto_child_joins_its_parent_on_its_first_write():
    config = ADict.auto()
    model = config.model
    assert config.model is model  # one pending child per key until it is written
    model.backbone.depth = 50
    assert config.to_dict() == {"model": {"backbone": {"depth": 50}}}
    assert config.model is model and config["model"]["backbone"].depth == 50
    config.model.head.update(n=3)
    config.data.setdefault("name", "imagenet")
    config.opt["name", "lr"] = ("adam", 0.1)
    assert config.model.head == {"n": 3} and config.data.name == "imagenet"
    assert config.opt == {"name": "adam", "lr": 0.1}
    assert config.accessed_keys == {"model", "data", "opt"}


def test_an_auto_child_read_before_its_key_was_set_refuses_to_join():
    config = ADict.auto()
    stale = config.model
    config.model = {"depth": 1}
    with pytest.raises(ConfigStructureError, match="'model' was set after it was read"):
        stale.depth = 2
    assert config.model == {"depth": 1}


def test_an_auto_child_of_a_config_frozen_since_refuses_to_join():
    config = ADict.auto()
    pending = config.model
    config.freeze()
    with pytest.raises(FrozenConfigError, match="add 'model'"):
        pending.depth = 1
    assert config == {}


def test_auto_does_not_grow_on_private_or_dunder_probes():
    config = ADict.auto()
    assert not hasattr(config, "_repr_html_")
    assert not hasattr(config, "__array__")
    assert config == {}


def test_default_value_is_copied_per_key_and_factory_is_called():
    config = ADict(default=[])
    config.a.append(1)
    assert config.b == []
    assert config.a == [1]
    counter = iter(range(10))
    config = ADict(default=lambda: next(counter))
    assert (config.x, config.y, config.x) == (0, 1, 0)
    assert config.get("z") == 2  # 2.x: get returns the default without storing it
    assert "z" not in config


def test_frozen_auto_adict_raises_instead_of_creating():
    config = ADict.auto()
    config.a.b = 1
    config.freeze()
    assert config.a.b == 1
    with pytest.raises(ConfigKeyError, match="frozen"):
        _ = config.missing


def test_default_accessors():
    config = ADict()
    with pytest.raises(ValueError, match="no default"):
        config.get_default()
    config.set_default(3)
    assert config.q == 3
    config.remove_default()
    with pytest.raises(KeyError):
        _ = config.r


# -- freezing ----------------------------------------------------------------------------

WRITES = [
    ("setattr", lambda c: setattr(c, "lr", 1)),
    ("setitem", lambda c: c.__setitem__("lr", 1)),
    ("nested setattr", lambda c: setattr(c.model, "depth", 1)),
    ("delattr", lambda c: delattr(c, "lr")),
    ("delitem", lambda c: c.__delitem__("lr")),
    ("update", lambda c: c.update(lr=2)),
    ("update_if_absent", lambda c: c.update_if_absent(new=2)),
    ("setdefault", lambda c: c.setdefault("new", 2)),
    ("pop", lambda c: c.pop("lr")),
    ("popitem", lambda c: c.popitem()),
    ("clear", lambda c: c.clear()),
    ("ior", lambda c: c.__ior__({"x": 1})),
    ("filter", lambda c: c.filter(lambda k, v: False)),
    ("replace_keys", lambda c: c.replace_keys(["lr"], ["rate"])),
    ("list in list", lambda c: setattr(c.heads[0], "n", 3)),
    ("list append", lambda c: c.heads.append({"n": 2})),
    ("list setitem", lambda c: c.heads.__setitem__(0, 1)),
    ("list slice", lambda c: c.heads.__setitem__(slice(0, 1), [])),
    ("list delitem", lambda c: c.heads.__delitem__(0)),
    ("list extend", lambda c: c.heads.extend([1])),
    ("list insert", lambda c: c.heads.insert(0, 1)),
    ("list pop", lambda c: c.heads.pop()),
    ("list remove", lambda c: c.heads.remove({"n": 1})),
    ("list clear", lambda c: c.heads.clear()),
    ("list sort", lambda c: c.heads.sort(key=str)),
    ("list reverse", lambda c: c.heads.reverse()),
    ("list +=", lambda c: operator.iadd(c.heads, [1])),
    ("list *=", lambda c: operator.imul(c.heads, 2)),
    ("list in values()", lambda c: next(v for v in c.values() if isinstance(v, list)).pop()),
    ("list in items()", lambda c: dict(c.items())["heads"].append(1)),
    ("nested list", lambda c: c.grid[0].append(1)),
    ("list in tuple", lambda c: c.pair[1].append(1)),
    ("set add", lambda c: c.tags.add("x")),
    ("set discard", lambda c: c.tags.discard("a")),
]


_LEAVES = {"grid": [[1, 2]], "pair": (1, [2]), "tags": {"a"}}


@pytest.mark.parametrize(("name", "write"), WRITES, ids=[name for name, _ in WRITES])
def test_frozen_config_refuses_every_write(name, write):
    config = ADict(lr=0.1, model={"depth": 50}, heads=[{"n": 1}], **_LEAVES).freeze()
    before = config.to_dict()
    with pytest.raises(FrozenConfigError, match=r"frozen\. Call config\.defrost"):
        write(config)
    assert config.to_dict() == before


@pytest.mark.parametrize(("name", "write"), WRITES, ids=[name for name, _ in WRITES])
def test_immutable_config_refuses_every_write_with_type_error(name, write):
    config = ADict(lr=0.1, model={"depth": 50}, heads=[{"n": 1}], **_LEAVES)
    config.convert_to_immutable()
    with pytest.raises(TypeError, match="immutable"):
        write(config)
    config.defrost()  # does not undo immutability
    with pytest.raises(TypeError):
        write(config)


def test_freeze_defrost_and_reads_of_mutable_leaves():
    config = ADict(layers=[1, 2], model={"depth": 50})
    assert config.freeze() is config
    assert config.frozen and config.model.frozen
    with pytest.raises(FrozenConfigError, match=r"append\(\) on list 'layers'"):
        config.layers.append(3)
    assert config.layers == [1, 2]
    config.defrost()
    config.layers.append(3)
    assert config.layers == [1, 2, 3]
    assert not config.frozen and not config.model.frozen
    config.lr = 1
    assert config.lr == 1


def test_copy_keeps_flags_clone_does_not():
    config = ADict(model={"depth": 50}).freeze()
    shallow = copy.copy(config)
    assert shallow.frozen
    assert shallow.model is config.model
    deep = config.clone()
    assert not deep.frozen and not deep.model.frozen
    deep.model.depth = 1
    assert config.model.depth == 50
    assert copy.deepcopy(config) == config


def test_clone_keeps_default_and_copies_other_objects():
    class Thing:
        def __init__(self):
            self.items = [1]

    config = ADict.auto()
    config.a.thing = Thing()
    clone = config.clone()
    clone.b.c = 1
    assert clone.a.thing is not config.a.thing
    assert clone.a.thing.items == [1]


# -- access tracking ---------------------------------------------------------------------


def test_accessed_keys_and_minimal_config():
    config = ADict(lr=0.1, unused=1, model={"depth": 50, "width": 2})
    assert config.accessed_keys == set()
    _ = config.lr
    _ = config["model"].depth
    assert config.accessed_keys == {"lr", "model"}
    assert config.get_minimal_config() == {"lr": 0.1, "model": {"depth": 50}}


# -- conversions -------------------------------------------------------------------------


def test_to_dict_and_json():
    config = ADict(a={"b": [{"c": 1}]}, t=(1, 2))
    plain = config.to_dict()
    assert type(plain) is dict
    assert type(plain["a"]) is dict
    assert type(plain["a"]["b"][0]) is dict
    assert plain["t"] == (1, 2)
    assert json.loads(config.json()) == {"a": {"b": [{"c": 1}]}, "t": [1, 2]}


def test_json_names_the_key_path_of_an_unserialisable_value():
    with pytest.raises(ValueError, match=r"model\.fn"):
        ADict(model={"fn": object()}).json()


def test_subclass_keeps_behaviour_and_own_methods():
    class Config(ADict):
        def describe(self):
            return f"lr={self.lr}"

    config = Config(lr=0.1, nested={"a": 1})
    assert config.describe() == "lr=0.1"
    assert config.nested.a == 1
    assert type(Config.auto()) is Config


# -- pickling ----------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trip_keeps_everything(protocol):
    config = ADict.auto()
    config.model.depth = 50
    config.lr = 0.1
    _ = config.lr
    config.freeze()
    restored = pickle.loads(pickle.dumps(config, protocol=protocol))
    assert restored == config
    assert restored.frozen and restored.model.frozen
    assert restored.accessed_keys == {"model", "lr"}
    restored.defrost()
    restored.new.key = 1  # still an auto ADict
    assert restored.new.key == 1


# -- found in review -------------------------------------------------------------------


def test_assigning_an_adict_stores_a_copy_as_2x_did():
    config = ADict(train={"lr": 0.1})
    config.eval = config.train
    config.eval.lr = 0.0
    assert config.train.lr == 0.1
    outside = ADict(depth=50)
    built = ADict(model=outside, models=[outside])
    outside.depth = 101
    assert built.model.depth == 50 and built.models[0].depth == 50


class Settings(ADict):
    def describe(self):
        return sorted(self)


def test_nested_mappings_of_a_subclass_keep_the_subclass():
    config = Settings({"model": {"depth": 50}, "heads": [{"n": 1}]})
    assert type(config.model) is Settings and type(config.heads[0]) is Settings
    config.data = {"name": "imagenet"}
    config["opt"] = {"name": "adam"}
    assert type(config.data) is Settings and type(config.opt) is Settings
    assert config.model.describe() == ["depth"]


def test_a_frozen_config_cannot_change_through_values_or_items():
    config = ADict(layers=[1, 2], model={"depth": 50}).freeze()
    for value in config.values():
        if isinstance(value, list):
            with pytest.raises(FrozenConfigError, match="'layers'"):
                value.append(3)
    for _, value in config.items():
        if isinstance(value, list):
            with pytest.raises(FrozenConfigError, match="'layers'"):
                value.append(4)
    assert config.layers == [1, 2]
    defrosted = config.defrost()
    assert isinstance(defrosted.items(), type({}.items()))  # a live view again


def test_an_immutable_config_hands_out_read_only_lists():
    config = ADict(layers=[1, 2], heads=[{"n": 1}]).convert_to_immutable()
    with pytest.raises(FrozenConfigError, match="immutable"):
        config.layers.append(3)
    assert config.layers == [1, 2]
    with pytest.raises(FrozenConfigError, match="immutable"):
        config.heads[0].n = 2


def test_deleting_from_a_frozen_config_says_delete():
    config = ADict(lr=0.1).freeze()
    with pytest.raises(FrozenConfigError, match="Cannot delete 'lr'"):
        del config.lr


# -- the fast read path ------------------------------------------------------------------


WRITES = [
    ("attribute set", lambda c: setattr(c, "k", 2), 2),
    ("item set", lambda c: c.__setitem__("k", 2), 2),
    ("update", lambda c: c.update(k=2), 2),
    ("setdefault after pop", lambda c: (c.pop("k"), c.setdefault("k", 2)), 2),
    ("replace_keys", lambda c: c.replace_keys(["other"], ["k"]), 5),
    ("filter then set", lambda c: (c.filter(lambda k, v: k != "k"), c.__setitem__("k", 2)), 2),
    ("clear then set", lambda c: (c.clear(), c.__setitem__("k", 2)), 2),
    ("del then set", lambda c: (c.__delitem__("k"), c.__setitem__("k", 2)), 2),
    ("ior", lambda c: c.__ior__({"k": 2}), 2),
    ("set many", lambda c: c.__setitem__(("k", "x"), (2, 3)), 2),
    ("recursive update", lambda c: c.update({"k": 2}, recurrent=True), 2),
    ("update_if_absent after pop", lambda c: (c.pop("k"), c.update_if_absent(k=2)), 2),
    ("write_through", lambda c: write_through(c, "k", 2), 2),
    ("load", lambda c: c.load(_written({"k": 2})), 2),
    ("defrosted block", lambda c: _set_while_defrosted(c.freeze(), "k", 2), 2),
]


def _written(data):
    import tempfile

    path = tempfile.mkdtemp() + "/config.json"
    ADict(data).dump(path)
    return path


def _set_while_defrosted(config, key, value):
    with config.defrosted():
        config[key] = value


@pytest.mark.parametrize(("name", "write", "expected"), WRITES, ids=[w[0] for w in WRITES])
def test_a_read_after_any_write_sees_the_new_value(name, write, expected):
    config = ADict(k=1, other=5)
    assert config.k == 1 and config["k"] == 1  # both reads now take the fast path
    write(config)
    assert config.k == expected
    assert config["k"] == expected


def test_a_read_after_a_list_changes_in_a_defrosted_block_sees_it():
    config = ADict(layers=[1], model={"heads": [1]}).freeze()
    assert config.layers == [1] and config.model.heads == [1]
    with config.defrosted():
        config.layers.append(2)
        config.model.heads += [2]
    assert config.layers == [1, 2] and config["model"]["heads"] == [1, 2]
    assert type(config.layers).__name__ == "FrozenList"


def test_a_read_after_an_auto_child_joins_or_leaves_sees_it():
    config = ADict.auto()
    pending = config.k
    assert "k" not in config
    pending.x = 1
    assert config.k is pending and config["k"] is pending
    del config.k
    assert config.k is not pending and config.k == {}
    config.k = 3
    assert config.k == 3 and config["k"] == 3


def test_a_read_after_a_deletion_misses():
    config = ADict(k=1, other=2)
    assert config.k == 1
    del config.k
    with pytest.raises(ConfigKeyError):
        config.k  # noqa: B018
    with pytest.raises(ConfigKeyError):
        config["k"]
    config.popitem()
    with pytest.raises(AttributeError):
        config.other  # noqa: B018


def test_reads_keep_being_recorded_after_clear_and_clone():
    config = ADict(a=1, b=2)
    assert config.a == 1
    config.clear()
    config.a = 3
    assert config.accessed_keys == set()
    assert config.a == 3 and config.accessed_keys == {"a"}
    assert config.clone().accessed_keys == set()


def test_a_list_read_before_freezing_is_read_only_after():
    config = ADict(layers=[1, 2])
    config.layers.append(3)  # writable: the list itself
    assert config.layers == [1, 2, 3]
    config.freeze()
    with pytest.raises(FrozenConfigError):
        config.layers.append(4)
    assert config.layers == [1, 2, 3]
    assert config["layers"] is not config["layers"]
    config.defrost()
    assert config.layers is config["layers"]


def test_a_key_named_like_a_method_never_hides_the_method():
    config = ADict(items=3, copy=4, _state=5)
    assert config["items"] == 3 and config["items"] == 3
    assert callable(config.items) and callable(config.copy)
    assert config["_state"] == 5 and not isinstance(config._state, int)


def test_dir_and_vars_with_non_string_keys():
    config = ADict({1: "one", "name": "x"})
    assert config[1] == "one" and config.name == "x"
    assert "name" in dir(config) and "items" in dir(config)


def test_init_again_forgets_earlier_reads():
    config = ADict(a=1)
    assert config.a == 1
    dict.clear(config)
    config.__init__(a=2)
    assert config.a == 2


# -- defrosted ---------------------------------------------------------------------------


def test_defrosted_opens_a_frozen_config_for_a_block():
    config = ADict(lr=0.1, model={"depth": 50}).freeze()
    with config.defrosted() as opened:
        assert opened is config
        config.lr = 0.2
        config.model.depth = 101
        config.extra = {"new": 1}
    assert config.frozen and config.model.frozen and config.extra.frozen
    assert config.to_dict() == {"lr": 0.2, "model": {"depth": 101}, "extra": {"new": 1}}
    with pytest.raises(FrozenConfigError):
        config.lr = 0.3


def test_defrosted_restores_even_when_the_block_raises():
    config = ADict(model={"depth": 50}).freeze()
    with pytest.raises(RuntimeError), config.defrosted():
        config.model.depth = 1
        raise RuntimeError("boom")
    assert config.frozen and config.model.frozen
    assert config.model.depth == 1


def test_defrosted_restores_only_what_was_frozen():
    config = ADict(model={"depth": 50}, data={"n": 1})
    config.model.freeze()
    with config.defrosted():
        config.model.depth = 101
        config.data.n = 2
    assert config.model.frozen
    assert not config.frozen and not config.data.frozen


# -- errors ------------------------------------------------------------------------------


def test_argument_and_default_errors_are_in_the_tree():
    from ato.errors import ArgumentTypeError, NoDefaultError

    with pytest.raises(ArgumentTypeError):
        ADict(5)
    with pytest.raises(NoDefaultError) as raised:
        ADict().get_default()
    assert isinstance(raised.value, (AtoError, ValueError))


def test_a_list_read_from_a_frozen_config_still_reads_as_the_list():
    config = ADict(layers=[64, [1, 2]], heads=[{"n": 1}]).freeze()
    layers = config.layers
    assert layers == [64, [1, 2]] and isinstance(layers, list)
    assert json.dumps(layers) == "[64, [1, 2]]"
    assert config.json() == '{"layers": [64, [1, 2]], "heads": [{"n": 1}]}'
    assert pickle.loads(pickle.dumps(layers)) == layers
    assert pickle.loads(pickle.dumps(config)) == config
    assert copy.deepcopy(layers) == layers
    writable = list(layers)
    writable.append(3)
    other = ADict(layers=layers)  # a plain, writable list once stored elsewhere
    other.layers.append(3)
    other.layers[1].append(3)
    assert type(other.to_dict()["layers"]) is list and config.layers == [64, [1, 2]]
    assert config.heads[0] is config["heads"][0]  # configs inside are the frozen ones


def test_a_write_to_a_frozen_list_names_its_key_path():
    config = ADict(model={"heads": [[1], 2]}, runs=[{"ids": [1]}], tags={"a"}).freeze()
    with pytest.raises(FrozenConfigError, match=r"append\(\) on list 'model\.heads':"):
        config.model.heads.append(3)
    with pytest.raises(FrozenConfigError, match=r"on list 'model\.heads\[0\]'"):
        config.model.heads[0].append(3)
    with pytest.raises(FrozenConfigError, match=r"clear\(\) on list 'runs\[0\]\.ids'"):
        config.runs[0].ids.clear()
    with pytest.raises(FrozenConfigError, match=r"add\(\) on set 'tags'"):
        config.tags.add("b")


def test_defrosted_opens_the_lists_of_a_frozen_config_for_a_block():
    config = ADict(layers=[1, 2], model={"heads": [1]}).freeze()
    with config.defrosted():
        config.layers.append(3)
        config.model.heads[0] = 5
    assert config.layers == [1, 2, 3] and config.model.heads == [5]
    with pytest.raises(FrozenConfigError, match="defrosted"):
        config.model.heads.append(6)


def test_a_list_or_set_held_from_before_freeze_cannot_change_the_frozen_config():
    config = ADict(model=ADict(layers=[1, [2]]), tags={"a"}, blob=bytearray(b"x"))
    layers, inner, tags, blob = (
        config.model.layers,
        config.model.layers[1],
        config.tags,
        config.blob,
    )
    config.freeze()
    layers.append(3)
    inner.append(4)
    tags.add("b")
    blob.extend(b"y")
    assert config.model.layers == [1, [2]] and config.tags == {"a"} and config.blob == b"x"
    with config.defrosted():
        config.model.layers.append(5)  # defrosted, the config's own list is writable
    assert config.model.layers == [1, [2], 5]
