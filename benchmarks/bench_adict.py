"""ADict against a plain dict, in one run, as ratios (lower is better; 1.0 = dict's speed).

    python benchmarks/bench_adict.py            # full run (a few minutes)
    python benchmarks/bench_adict.py --quick    # fewer repeats
    python benchmarks/bench_adict.py --reads    # only the read and write rows

Every operation is a bare statement timed as ``python -m timeit`` times it (a statement
string run in a namespace, no lambda around it): a lambda call costs more than a dict
read, and timing one would hide most of what is measured. Each statement is timed against
the plain-dict statement that does the same thing, alternating the two several times and
keeping each one's best, so that noise on a busy machine hits both sides alike.

Reads and writes are timed on configs of two sizes (10 and 1,000 keys). Peers in the same
run, when installed (``pip install 'ato[bench]'``): OmegaConf, ml_collections'
ConfigDict, and a minimal attribute dict ``class AttrDict(dict): __getattr__ =
dict.__getitem__``.

Targets: attribute get <= 6x, item get <= 6x, nested get <= 10x, construction <= 5x,
clone <= 3x, to_dict <= 3x, structural hash <= 2x.
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
from typing import Any

import yaml

from ato.adict import ADict

TARGETS = {
    "attribute get": 6.0,
    "item get": 6.0,
    "nested get": 10.0,
    "construction": 5.0,
    "clone": 3.0,
    "to_dict": 3.0,
    "structural hash": 2.0,
}
SIZES = (10, 1_000)
# A table row: its label, and per contender (statement, plain-dict statement, namespace).
Row = tuple[str, dict[str, tuple[str, str, dict[str, Any]]]]


class AttrDict(dict):  # type: ignore[type-arg]
    """The smallest attribute dict: the peer with the least machinery."""

    __getattr__ = dict.__getitem__


def attr_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return AttrDict({k: attr_tree(v) for k, v in value.items()})
    return value


def flat_dict(size: int) -> dict[str, Any]:
    """``size`` top-level keys: ``k``, the nested ``a.b.c``, and filler keys."""
    data: dict[str, Any] = {"k": 1, "a": {"b": {"c": 2}}}
    data.update({f"key{i}": i for i in range(size - len(data))})
    return data


def nested_dict(leaves: int) -> dict[str, object]:
    """A config of ``leaves`` leaf values, three levels deep."""
    groups = max(1, round(leaves ** (1 / 3)))
    per_leaf_group = max(1, leaves // (groups * groups))
    tree: dict[str, object] = {}
    count = 0
    for a in range(groups):
        level1: dict[str, object] = {}
        for b in range(groups):
            level2: dict[str, object] = {}
            for c in range(per_leaf_group):
                level2[f"key{c}"] = [count, 0.5, "str", True][count % 4]
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


def best_time(statement: str, namespace: dict[str, Any], repeat: int) -> float:
    """Seconds per execution of ``statement``, best of ``repeat`` runs."""
    timer = timeit.Timer(statement, globals=namespace)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number


def compare(
    candidate: str, baseline: str, namespace: dict[str, Any], rounds: int, repeat: int
) -> tuple[float, float]:
    cand, base = math.inf, math.inf
    for _ in range(rounds):
        cand = min(cand, best_time(candidate, namespace, repeat))
        base = min(base, best_time(baseline, namespace, repeat))
    return cand, base


def peers() -> dict[str, Any]:
    """Contender name -> a function turning a plain dict into that contender's config."""
    makers: dict[str, Any] = {"ADict": ADict, "AttrDict": attr_tree}
    try:
        from omegaconf import OmegaConf
    except ImportError:
        pass
    else:
        makers["OmegaConf"] = OmegaConf.create
    try:
        from ml_collections import ConfigDict
    except ImportError:
        pass
    else:
        makers["ml_collections"] = ConfigDict
    return makers


# (row, statement on config ``c``, the same statement on the plain dict ``p``)
READS = [
    ("attribute get", "c.k", "p['k']"),
    ("item get", "c['k']", "p['k']"),
    ("nested get", "c.a.b.c", "p['a']['b']['c']"),
    ("attribute set", "c.k = 2", "p['k'] = 2"),
    ("item set", "c['k'] = 2", "p['k'] = 2"),
]


def read_rows(makers: dict[str, Any]) -> list[Row]:
    rows = []
    for size in SIZES:
        plain = flat_dict(size)
        configs = {name: make(plain) for name, make in makers.items()}
        for op, statement, baseline in READS:
            entry = {}
            for name, config in configs.items():
                if name == "AttrDict" and "set" in op and "attribute" in op:
                    continue  # it has no __setattr__ for keys
                entry[name] = (statement, baseline, {"c": config, "p": plain})
            rows.append((f"{op} ({size:,} keys)", entry))
    return rows


def bulk_rows(makers: dict[str, Any], workdir: str) -> list[Row]:
    tree_1k = nested_dict(1_000)
    tree_10k = nested_dict(10_000)
    yaml_path = os.path.join(workdir, "c.yaml")
    plain_path = os.path.join(workdir, "p.yaml")
    ADict(tree_1k).dump(yaml_path)
    namespace: dict[str, Any] = {
        "ADict": ADict,
        "copy": copy,
        "copy_tree": copy_tree,
        "reference_structural_hash": reference_structural_hash,
        "tree": tree_1k,
        "tree_10k": tree_10k,
        "c": ADict(tree_1k),
        "c_10k": ADict(tree_10k),
        "yaml": yaml,
        "yaml_path": yaml_path,
        "plain_path": plain_path,
        "loader": getattr(yaml, "CSafeLoader", yaml.SafeLoader),
        "dumper": getattr(yaml, "CSafeDumper", yaml.SafeDumper),
    }
    with open(plain_path, "w") as handle:
        yaml.dump(tree_1k, handle, Dumper=namespace["dumper"])
    plain_yaml = (
        "with open(plain_path) as f: data = yaml.load(f, Loader=loader)\n"
        "with open(plain_path, 'w') as f: yaml.dump(data, f, Dumper=dumper, sort_keys=False)"
    )
    rows: list[Row] = [
        ("construction (1,000 keys)", {"ADict": ("ADict(tree)", "copy_tree(tree)", namespace)}),
        ("clone (1,000 keys)", {"ADict": ("c.clone()", "copy.deepcopy(tree)", namespace)}),
        ("to_dict (1,000 keys)", {"ADict": ("c.to_dict()", "copy_tree(tree)", namespace)}),
        (
            "structural hash (1,000 keys)",
            {"ADict": ("c.get_structural_hash()", "reference_structural_hash(tree)", namespace)},
        ),
        (
            "structural hash (10,000 keys)",
            {
                "ADict": (
                    "c_10k.get_structural_hash()",
                    "reference_structural_hash(tree_10k)",
                    namespace,
                )
            },
        ),
        (
            "YAML load+dump (1,000 keys)",
            {"ADict": ("ADict.from_file(yaml_path).dump(yaml_path)", plain_yaml, namespace)},
        ),
    ]
    for name, make in makers.items():
        if name in ("ADict", "AttrDict"):
            continue
        peer = dict(namespace, make=make, pc=make(tree_1k))
        rows[0][1][name] = ("make(tree)", "copy_tree(tree)", peer)
        rows[1][1][name] = ("copy.deepcopy(pc)", "copy.deepcopy(tree)", peer)
    return rows


def target_for(row: str) -> float | None:
    for prefix, target in TARGETS.items():
        if row.startswith(prefix):
            return target
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (noisier)")
    parser.add_argument("--reads", action="store_true", help="only reads and writes")
    args = parser.parse_args()
    rounds, repeat = (2, 3) if args.quick else (4, 5)
    makers = peers()
    print(f"Python {sys.version.split()[0]}, PyYAML C loader: {yaml.__with_libyaml__}")
    print("ratio = contender time / plain dict time, bare statements (python -m timeit style)")
    failed = []
    with tempfile.TemporaryDirectory() as workdir:
        rows = read_rows(makers)
        if not args.reads:
            rows += bulk_rows(makers, workdir)
        width = max(len(row) for row, _ in rows)
        contenders = list(makers)
        header = "".join(f"{name:>16}" for name in contenders)
        print(f"{'operation':<{width}}  {'dict':>13}{header}   target")
        for op, entry in rows:
            cells = ""
            base_time = math.nan
            for name in contenders:
                if name not in entry:
                    cells += f"{'-':>16}"
                    continue
                statement, baseline, namespace = entry[name]
                cand, base = compare(statement, baseline, namespace, rounds, repeat)
                ratio = cand / base
                base_time = base if name == "ADict" else base_time
                cells += f"{ratio:>15.2f}x"
                target = target_for(op)
                if name == "ADict" and target is not None and ratio > target:
                    failed.append(op)
            target = target_for(op)
            shown = f"<= {target:g}x" if target is not None else ""
            print(f"{op:<{width}}  {base_time * 1e9:>11.1f}ns{cells}   {shown}", flush=True)
    if failed:
        print("over target:", ", ".join(failed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
