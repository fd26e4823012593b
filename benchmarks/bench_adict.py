"""ADict against a plain dict, in one run, as ratios (lower is better; 1.0 = dict's speed).

    python benchmarks/bench_adict.py            # full run (about a minute)
    python benchmarks/bench_adict.py --quick    # fewer repeats

Each operation is timed for ADict and for the plain-dict way of doing the same thing,
alternating the two several times and keeping each one's best, so that noise on a busy
machine hits both sides alike. OmegaConf and ml_collections are measured too when they
are installed (``pip install 'ato[bench]'``).

Targets (issue #2): attribute get <= 10x, nested get <= 10x, construction <= 5x,
clone <= 3x, to_dict <= 3x, structural hash <= 2x, geometric mean <= 3x.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import math
import os
import sys
import tempfile
import timeit
from collections.abc import Callable

import yaml

from ato.adict import ADict

TARGETS = {
    "attribute get": 10,
    "nested get": 10,
    "construction (1,000 keys)": 5,
    "clone": 3,
    "to_dict": 3,
    "structural hash (1,000 keys)": 2,
    "structural hash (10,000 keys)": 2,
}


def nested_dict(leaves: int) -> dict[str, object]:
    """A config of ``leaves`` leaf values in groups of ten, three levels deep."""
    groups = max(1, round(leaves ** (1 / 3)))
    per_leaf_group = max(1, leaves // (groups * groups))
    tree: dict[str, object] = {}
    count = 0
    for a in range(groups):
        level1: dict[str, object] = {}
        for b in range(groups):
            level2: dict[str, object] = {}
            for c in range(per_leaf_group):
                kind = count % 4
                level2[f"key{c}"] = [count, 0.5, "str", True][kind]
                count += 1
            level1[f"group{b}"] = level2
        tree[f"section{a}"] = level1
    return tree


def copy_tree(value: object) -> object:
    """What a plain dict needs to do to build (or export) the same tree of containers."""
    if isinstance(value, dict):
        return {k: copy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_tree(v) for v in value]
    return value


def reference_structural_hash(mapping: dict[str, object]) -> str:
    """The 2.x hash written plainly for dicts: the same computation, no ADict involved."""
    pairs: dict[str, str] = {}

    def walk(node: dict[str, object], prefix: str) -> None:
        for key, value in node.items():
            dotted = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                walk(value, dotted)
            else:
                pairs[dotted] = type(value).__name__

    walk(mapping, "")
    text = "".join(f"[{k}:{v}]" for k, v in sorted(pairs.items()))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def best_time(statement: Callable[[], object], repeat: int) -> float:
    timer = timeit.Timer(statement)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number


def compare(
    candidate: Callable[[], object], baseline: Callable[[], object], rounds: int, repeat: int
) -> tuple[float, float]:
    cand, base = math.inf, math.inf
    for _ in range(rounds):
        cand = min(cand, best_time(candidate, repeat))
        base = min(base, best_time(baseline, repeat))
    return cand, base


def operations(workdir: str) -> dict[str, dict[str, tuple[Callable[[], object], ...]]]:
    """name -> {contender: (candidate, baseline)}"""
    tree_1k = nested_dict(1_000)
    tree_10k = nested_dict(10_000)
    plain = {"k": 1, "a": {"b": {"c": 2}}}
    config = ADict(plain)
    config_1k = ADict(tree_1k)
    config_10k = ADict(tree_10k)
    yaml_path = os.path.join(workdir, "c.yaml")
    plain_yaml_path = os.path.join(workdir, "p.yaml")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    config_1k.dump(yaml_path)
    with open(plain_yaml_path, "w") as handle:
        yaml.dump(tree_1k, handle, Dumper=dumper)

    def set_attr() -> None:
        config.k = 2

    def set_item() -> None:
        plain["k"] = 2

    def ato_yaml() -> None:
        ADict.from_file(yaml_path).dump(yaml_path)

    def plain_yaml() -> None:
        with open(plain_yaml_path) as handle:
            data = yaml.load(handle, Loader=loader)
        with open(plain_yaml_path, "w") as handle:
            yaml.dump(data, handle, Dumper=dumper, sort_keys=False)

    ops: dict[str, dict[str, tuple[Callable[[], object], ...]]] = {
        "attribute get": {"ADict": (lambda: config.k, lambda: plain["k"])},
        "nested get": {"ADict": (lambda: config.a.b.c, lambda: plain["a"]["b"]["c"])},
        "attribute set": {"ADict": (set_attr, set_item)},
        "item get": {"ADict": (lambda: config["k"], lambda: plain["k"])},
        "construction (1,000 keys)": {
            "ADict": (lambda: ADict(tree_1k), lambda: copy_tree(tree_1k))
        },
        "clone": {"ADict": (config_1k.clone, lambda: copy.deepcopy(tree_1k))},
        "to_dict": {"ADict": (config_1k.to_dict, lambda: copy_tree(tree_1k))},
        "structural hash (1,000 keys)": {
            "ADict": (config_1k.get_structural_hash, lambda: reference_structural_hash(tree_1k))
        },
        "structural hash (10,000 keys)": {
            "ADict": (
                config_10k.get_structural_hash,
                lambda: reference_structural_hash(tree_10k),
            )
        },
        "YAML load+dump (1,000 keys)": {"ADict": (ato_yaml, plain_yaml)},
    }
    _add_peers(ops, plain, tree_1k)
    return ops


def _add_peers(
    ops: dict[str, dict[str, tuple[Callable[[], object], ...]]],
    plain: dict[str, object],
    tree: dict[str, object],
) -> None:
    try:
        from omegaconf import OmegaConf
    except ImportError:
        OmegaConf = None
    try:
        from ml_collections import ConfigDict
    except ImportError:
        ConfigDict = None
    if OmegaConf is not None:
        oc = OmegaConf.create(plain)
        oc_tree = OmegaConf.create(tree)

        def oc_set() -> None:
            oc.k = 2

        ops["attribute get"]["OmegaConf"] = (lambda: oc.k, lambda: plain["k"])
        ops["nested get"]["OmegaConf"] = (lambda: oc.a.b.c, lambda: plain["a"]["b"]["c"])
        ops["attribute set"]["OmegaConf"] = (oc_set, lambda: plain.__setitem__("k", 2))
        ops["item get"]["OmegaConf"] = (lambda: oc["k"], lambda: plain["k"])
        ops["construction (1,000 keys)"]["OmegaConf"] = (
            lambda: OmegaConf.create(tree),
            lambda: copy_tree(tree),
        )
        ops["clone"]["OmegaConf"] = (lambda: copy.deepcopy(oc_tree), lambda: copy.deepcopy(tree))
        ops["to_dict"]["OmegaConf"] = (
            lambda: OmegaConf.to_container(oc_tree),
            lambda: copy_tree(tree),
        )
    if ConfigDict is not None:
        cd = ConfigDict(plain)
        cd_tree = ConfigDict(tree)

        def cd_set() -> None:
            cd.k = 2

        ops["attribute get"]["ml_collections"] = (lambda: cd.k, lambda: plain["k"])
        ops["nested get"]["ml_collections"] = (lambda: cd.a.b.c, lambda: plain["a"]["b"]["c"])
        ops["attribute set"]["ml_collections"] = (cd_set, lambda: plain.__setitem__("k", 2))
        ops["item get"]["ml_collections"] = (lambda: cd["k"], lambda: plain["k"])
        ops["construction (1,000 keys)"]["ml_collections"] = (
            lambda: ConfigDict(tree),
            lambda: copy_tree(tree),
        )
        ops["clone"]["ml_collections"] = (
            lambda: copy.deepcopy(cd_tree),
            lambda: copy.deepcopy(tree),
        )
        ops["to_dict"]["ml_collections"] = (cd_tree.to_dict, lambda: copy_tree(tree))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (noisier)")
    args = parser.parse_args()
    rounds, repeat = (2, 3) if args.quick else (4, 5)
    print(f"Python {sys.version.split()[0]}, PyYAML C loader: {yaml.__with_libyaml__}")
    ratios: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as workdir:
        ops = operations(workdir)
        width = max(map(len, ops))
        contenders = sorted({name for entry in ops.values() for name in entry}, key=len)
        header = "".join(f"{name:>16}" for name in contenders)
        print(f"{'operation':<{width}}  {'dict':>10}{header}   target")
        failed = []
        for op, entry in ops.items():
            row = ""
            base_time = math.nan
            for name in contenders:
                if name not in entry:
                    row += f"{'-':>16}"
                    continue
                cand, base = compare(*entry[name], rounds=rounds, repeat=repeat)
                ratio = cand / base
                ratios.setdefault(name, []).append(ratio)
                base_time = base if name == "ADict" else base_time
                row += f"{ratio:>15.2f}x"
                if name == "ADict" and op in TARGETS and ratio > TARGETS[op]:
                    failed.append(op)
            target = f"<= {TARGETS[op]}x" if op in TARGETS else ""
            print(f"{op:<{width}}  {base_time * 1e6:>8.2f}us{row}   {target}")
    print()
    for name, values in ratios.items():
        mean = math.exp(sum(map(math.log, values)) / len(values))
        note = " (target <= 3x)" if name == "ADict" else f" over {len(values)} operations"
        print(f"geometric mean, {name}: {mean:.2f}x{note}")
        if name == "ADict" and mean > 3:
            failed.append("geometric mean")
    if failed:
        print("over target:", ", ".join(failed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
