"""The quick-start demo: what `make demo` runs.

It builds configs from Python and from files, writes them in every format, and shows how
ato tells a change of structure (a new key, a value of another type) from a change of
values; runs a Scope-configured script; fingerprints code, outputs and the environment;
and logs two tracked runs to out/experiments.db, then asks why they differ, in Python
and with the ato command (runs, explain, plot). Files go to ./out next to this script.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

from ato import compare_runs, environment
from ato.adict import ADict
from ato.scope import Scope
from ato.tracking import SQLFinder

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def rule(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 60 - len(title)))


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)

    rule("1. A config is a dict with attributes")
    config = ADict.auto()
    config.model.backbone = "resnet50"
    config.model.layers = [64, 128, 256]
    config.train = {"lr": 0.001, "epochs": 100}
    print(f"config.model.backbone = {config.model.backbone}")
    print(f"config.train.lr       = {config.train.lr}")
    try:
        _ = config.train.lr_rate
    except AttributeError as error:
        print(f"config.train.lr_rate  -> {error}")

    rule("2. Structure, not values")
    other_values = config.clone()
    other_values.train.lr = 0.1
    other_type = config.clone()
    other_type.train.epochs = "100"
    print(f"hash                    {config.get_structural_hash()}")
    print(f"hash, lr changed        {other_values.get_structural_hash()}  (same: values only)")
    print(f"hash, epochs now a str  {other_type.get_structural_hash()}  (differs)")
    print("structural diff:")
    print("  " + str(config.structural_diff(other_type)).replace("\n", "\n  "))

    rule("3. Any format in, any format out")
    base = ADict.from_file(HERE / "configs" / "base.yaml")
    print(f"base.yaml: train.lr = {base.train.lr!r} (1e-3 reads as a float)")
    for extension in (".json", ".yaml", ".toml", ".xyz"):
        path = OUT / f"base{extension}"
        base.dump(path)
        same = ADict.from_file(path) == base
        print(f"  wrote {path.relative_to(HERE)}; reads back equal: {same}")
    print("XYZ, the human-readable format:")
    print("  " + base.to_xyz().rstrip().replace("\n", "\n  "))

    rule("4. Inheritance (OpenMMLab style)")
    wide = ADict.from_mm_config(HERE / "configs" / "wide.py")
    print(f"model.norm  = {wide.model.norm.to_dict()}  (_delete_ replaced it)")
    print(f"model.depth = {wide.model.depth}  (kept from base.yaml)")
    print(f"train.lr    = {wide.train.lr}")
    print("what the experiment changed in structure:")
    print("  " + str(base.structural_diff(wide)).replace("\n", "\n  "))

    rule("5. Frozen configs refuse writes")
    wide.freeze()
    try:
        wide.train.lr = 1.0
    except TypeError as error:
        print(f"wide.train.lr = 1.0 -> {error}")

    rule("6. A Scope: views, priorities and the command line")
    for argv in ([], ["high_lr", "lr=0.05"], ["long_training", "dataset=%cifar10%"]):
        shown = " ".join(["python train.py", *argv])
        print(f"$ {shown}")
        print("  " + run_train(argv).strip())
    print("$ python train.py high_lr lr=0.05 manual")
    print(run_train(["high_lr", "lr=0.05", "manual"]).rstrip())

    rule("7. Fingerprints: code logic, outputs, environment")
    versions = {
        "original": (
            "def train_step(config, batch):\n"
            "    loss = model(batch) * config.scale\n"
            "    return loss\n"
        ),
        "cosmetic edit": (
            "def train_step(config, batch):\n"
            '    """Comments, spacing and a renamed local do not count."""\n'
            "    out=model( batch )*config.scale  # scaled loss\n"
            "    return out\n"
        ),
        "logic edit": (
            "def train_step(config, batch):\n"
            "    loss = model(batch) * config.scale * 2\n"
            "    return loss\n"
        ),
    }
    scope = Scope(name="demo")
    for label, source in versions.items():
        scope.trace(trace_id="train_step")(load_function(source, label))
        print(f"{label:<14} {scope.fingerprints['train_step'].value[:16]}")

    @scope.runtime_trace(trace_id="predictions", inspect_fn=lambda out: out[:3])
    def predict(xs):
        return [round(x * 0.5, 3) for x in xs]

    predict([1, 2, 3, 4])
    predict([1, 2, 3, 5])  # the same first three outputs: the same fingerprint
    for call in scope.runtime_calls:
        print(f"runtime {call.trace_id}[{call.index}] {call.fingerprint[:16]}")
    record = environment.capture()
    print(
        f"environment {record['hash'][:16]}: Python {record['python']['version']}, "
        f"{len(record['distributions'])} distributions, git "
        f"{(record['git'] or {}).get('commit', 'none')!s:.12}"
    )

    rule("8. Tracked runs in SQLite, and why they differ")
    for argv in ([], ["high_lr"]):
        print(f"$ {' '.join(['python track.py', *argv])}")
        print("  " + run_script("track.py", argv).strip())
    finder = SQLFinder(
        ADict(experiment=ADict(sql=ADict(db_path=f"sqlite:///{OUT / 'experiments.db'}")))
    )
    runs = finder.get_runs_in_project("quickstart")
    for run in runs:
        loss = run.summary["loss"]
        print(
            f"run {run.id} [{run.status}] lr={run.config.lr} tags={run.tags}: "
            f"loss {loss.count} points, last {loss.last:.2e}"
        )
    best = finder.find_best_run("quickstart", "final_loss", mode="min")
    print(f"best run by final_loss: {best.id} (lr={best.config.lr})")
    first, second = runs
    print(f"same config structure: {[r.id for r in finder.find_similar_runs(first.id)]}")
    changed = {
        key: (first.config.get_value_by_name(key), second.config.get_value_by_name(key))
        for key in ("lr", "epochs", "target")
        if first.config.get_value_by_name(key) != second.config.get_value_by_name(key)
    }
    print(f"config values that differ: {changed}, set by {second.provenance['lr'][0]}")
    same_code = first.static_fingerprints() == second.static_fingerprints()
    print(f"train_step fingerprint equal in both runs: {same_code}")
    stats = finder.get_trace_statistics("quickstart", "evaluate")
    print(f"evaluate() outputs: {stats['runtime_trace_versions']} distinct fingerprints")
    print(f"same environment: {first.environment_hash == second.environment_hash}")
    finder.close()

    rule("9. The ato command: runs, why two differ, their curves")
    database = f"sqlite:///{OUT / 'experiments.db'}"
    report = compare_runs(first.id, second.id, db=database)
    print(f"compare_runs({first.id}, {second.id}).verdict:\n  {report.verdict}")
    for argv in (
        ["runs", "quickstart", "--metric", "final_loss"],
        ["explain", str(second.id)],
        ["plot", str(first.id), str(second.id), "--metric", "loss", "-o", str(OUT / "curves.png")],
    ):
        print(f"$ ato {' '.join(argv)}")
        print(run_ato([*argv, "--db", database]).rstrip())

    print("\nDemo finished.")


def load_function(source: str, label: str):
    """Write ``source`` to its own module file and import it, as an edited file would be."""
    path = OUT / f"step_{label.replace(' ', '_')}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.train_step


def run_ato(argv: list[str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "ato", *argv], capture_output=True, text=True, check=False
    )
    return result.stdout + result.stderr


def run_train(argv: list[str]) -> str:
    return run_script("train.py", argv)


def run_script(name: str, argv: list[str]) -> str:
    result = subprocess.run(
        [sys.executable, str(HERE / name), *argv],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


if __name__ == "__main__":
    main()
