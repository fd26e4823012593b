"""``ato explain`` on two runs with long metric curves, against reading the same rows
with sqlite3 (the floor), in one run, at two sizes.

    python benchmarks/bench_explain.py              # 100,000 and 3,000,000 points a run
    python benchmarks/bench_explain.py --quick      # 10,000 and 100,000

Two runs of one metric each are written straight into a tracker database (their curves
part at the last tenth, so the whole of both is read). Timed with ``timeit`` statement
strings: ``compare_runs(1, 2, db=URL)`` (everything ``ato explain`` computes), and the
floor, ``SELECT step, value`` of both curves through sqlite3. Reported: seconds and the
ratio to the floor at each size; a cost that grows faster than the points shows as a
ratio that grows from the small size to the large one.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import timeit

from ato.adict import ADict
from ato.tracking import SQLLogger


def make_database(folder: str, points: int) -> str:
    path = os.path.join(folder, f"explain_{points}.db")
    url = f"sqlite:///{path}"
    config = ADict(experiment=ADict(project_name="bench", sql=ADict(db_path=url)), lr=0.1)
    logger = SQLLogger(config)
    ids = []
    for _ in range(2):
        with logger.run() as run:
            ids.append(int(run))
    parting = points - points // 10
    with sqlite3.connect(path) as connection:
        for index, run_id in enumerate(ids):
            rows = (
                (run_id, "loss", 1.0 / (step + 1) + (index * 1e-3 if step >= parting else 0.0),
                 step, 0.0)
                for step in range(points)
            )  # fmt: skip
            connection.executemany(
                "INSERT INTO metrics (run_id, key, value, step, timestamp) VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            connection.execute(
                "INSERT OR REPLACE INTO metric_summaries (run_id, key, count, min_value, "
                "max_value, last_value, last_step) VALUES (?, 'loss', ?, 0.0, 1.0, 0.0, ?)",
                (run_id, points, points - 1),
            )
    return path


def measure(path: str, repeat: int) -> tuple[float, float]:
    url = f"sqlite:///{path}"
    setup = f"from ato.explain import compare_runs; import sqlite3; url = {url!r}; path = {path!r}"
    explain = min(timeit.repeat("compare_runs(1, 2, db=url)", setup, number=1, repeat=repeat))
    floor = min(
        timeit.repeat(
            "c = sqlite3.connect(path)\n"
            "for r in (1, 2): c.execute('SELECT step, value FROM metrics WHERE run_id = ? "
            "AND key = ? ORDER BY step, id', (r, 'loss')).fetchall()\n"
            "c.close()",
            setup,
            number=1,
            repeat=repeat,
        )
    )
    return explain, floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = (10_000, 100_000) if args.quick else (100_000, 3_000_000)
    with tempfile.TemporaryDirectory() as folder:
        ratios = []
        for points in sizes:
            path = make_database(folder, points)
            explain, floor = measure(path, repeat=3 if points > 1_000_000 else 5)
            ratios.append(explain / floor)
            print(
                f"{points:>9,} points a run: explain {explain:.3f} s, sqlite3 floor "
                f"{floor:.3f} s, ratio {explain / floor:.2f}"
            )
        print(f"ratio growth from {sizes[0]:,} to {sizes[1]:,} points: {ratios[1] / ratios[0]:.2f}")


if __name__ == "__main__":
    main()
