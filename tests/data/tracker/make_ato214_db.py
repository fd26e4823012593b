"""Generate the ato 2.1.4 SQLite fixture used by the tracker compatibility tests.

Run with a venv holding ato==2.1.4; writes ato214.db beside it, then writes
ato214_expected.json (read back from the DB with the stdlib ``sqlite3`` module,
never with ato):

    python3.11 -m venv /tmp/venv214
    /tmp/venv214/bin/pip install ato==2.1.4        # or the 2.1.4 wheel
    /tmp/venv214/bin/python tests/data/tracker/make_ato214_db.py

``--expected`` only regenerates ato214_expected.json from the existing DB; that
mode needs no ato and runs under any Python 3.

Writing uses only ato 2.1.4's public API (ADict, SQLLogger and its methods),
plus ``logger.session`` with ``ato.db_routers.sql.schema.Fingerprint`` to add
fingerprint rows, because 2.1.4 had no API for them.

Content (run index = creation order, 0-based across both projects):
  vision run 0  completed  logs loss, val_accuracy and lr; static fp A
  vision run 1  running    never finished (end_time NULL); same structure as run 0; static fp A
  vision run 2  failed     extra config key (dropout) -> different structural hash; static fp B
  nlp    run 3  completed  no fingerprints
Every vision run also gets a 'runtime' fingerprint row for 'train.evaluate'.
"""

import hashlib
import json
import os
import sqlite3
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DB_PATH = os.path.join(HERE, "ato214.db")
EXPECTED_PATH = os.path.join(HERE, "ato214_expected.json")
DB_URL = f"sqlite:///{DB_PATH}"
STEPS = range(10)


def _sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


STATIC_FP_A = _sha256("train.train_step v1")
STATIC_FP_B = _sha256("train.train_step v2")


def _config(project_name, **values):
    from ato.adict import ADict

    config = ADict(experiment=ADict(project_name=project_name, sql=ADict(db_path=DB_URL)))
    config.update(**values)
    return config


def _run_specs():
    from ato.adict import ADict

    return [
        dict(
            config=_config(
                "vision",
                lr=0.1,
                batch_size=32,
                model=ADict(backbone="resnet18", depth=18),
                layers=[64, 128, 256],
            ),
            tags=["baseline", "resnet"],
            extra_lr_metric=True,
            static_fp=STATIC_FP_A,
            finish="completed",
            artifacts=[
                ("checkpoints/vision_0/model.pt", "checkpoint", {"epoch": 9, "size_bytes": 1024}),
                ("plots/vision_0/loss.png", "image", {"width": 640, "height": 480}),
            ],
        ),
        dict(
            config=_config(
                "vision",
                lr=0.01,
                batch_size=64,
                model=ADict(backbone="resnet50", depth=50),
                layers=[32, 64],
            ),
            tags=["resnet", "large-batch"],
            extra_lr_metric=False,
            static_fp=STATIC_FP_A,
            finish=None,  # left 'running'
            artifacts=[
                ("checkpoints/vision_1/model.pt", "checkpoint", {"epoch": 4, "note": "résumé"}),
            ],
        ),
        dict(
            config=_config(
                "vision",
                lr=0.001,
                batch_size=16,
                model=ADict(backbone="vit_b16", depth=12),
                layers=[768],
                dropout=0.1,
            ),
            tags=["vit"],
            extra_lr_metric=False,
            static_fp=STATIC_FP_B,
            finish="failed",
            artifacts=[
                ("logs/vision_2/stderr.txt", "log", {"lines": 42, "error": "CUDA out of memory"}),
            ],
        ),
        dict(
            config=_config(
                "nlp",
                lr=0.0005,
                batch_size=8,
                model=ADict(backbone="bert-base", depth=12),
                layers=[768, 768],
                tokenizer="wordpiece",
            ),
            tags=[],
            extra_lr_metric=False,
            static_fp=None,
            finish="completed",
            artifacts=[
                (
                    "checkpoints/nlp_3/model.bin",
                    "checkpoint",
                    {"epoch": 9, "format": "safetensors"},
                ),
                (
                    "eval/nlp_3/predictions.jsonl",
                    "predictions",
                    {"rows": 100, "split": "validation"},
                ),
            ],
        ),
    ]


def write_db():
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("ato")
    except PackageNotFoundError:
        found = None
    if found != "2.1.4":
        sys.exit(
            f"make_ato214_db.py needs a venv holding ato==2.1.4 (found ato {found}); "
            f"use --expected to only rewrite the JSON"
        )
    from ato.db_routers.sql.manager import SQLLogger
    from ato.db_routers.sql.schema import Fingerprint

    if os.path.exists(DB_PATH):
        os.remove(DB_PATH)
    for run_index, spec in enumerate(_run_specs()):
        logger = SQLLogger(spec["config"])
        run_id = logger.run(tags=spec["tags"])
        for step in STEPS:
            logger.log_metric("loss", 1.0 / (step + 1 + run_index), step)
            logger.log_metric("val_accuracy", 0.5 + 0.04 * step + 0.01 * run_index, step)
            if spec["extra_lr_metric"]:
                logger.log_metric("lr", spec["config"].lr * (0.9**step), step)
        for path, data_type, metadata in spec["artifacts"]:
            logger.log_artifact(run_id, path, data_type, metadata)
        if spec["static_fp"] is not None:
            logger.session.add(
                Fingerprint(
                    run_id=run_id,
                    trace_id="train.train_step",
                    trace_type="static",
                    fingerprint=spec["static_fp"],
                )
            )
            logger.session.add(
                Fingerprint(
                    run_id=run_id,
                    trace_id="train.evaluate",
                    trace_type="runtime",
                    fingerprint=_sha256(f"train.evaluate outputs run {run_index}"),
                )
            )
            logger.session.commit()
        if spec["finish"] is not None:
            logger.finish(status=spec["finish"])
        logger.session.close()
        logger.engine.dispose()


def _loads(raw):
    return None if raw is None else json.loads(raw)


def read_expected():
    """Describe the DB using only the stdlib sqlite3 module."""
    con = sqlite3.connect(f"file:{DB_PATH}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    schema = [
        dict(type=r["type"], name=r["name"], tbl_name=r["tbl_name"], sql=r["sql"])
        for r in con.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid")
    ]
    projects = {}
    for p in con.execute("SELECT * FROM projects ORDER BY id"):
        runs = []
        for r in con.execute(
            "SELECT * FROM experiments WHERE project_id = ? ORDER BY id", (p["id"],)
        ):
            metric_rows = con.execute(
                "SELECT key, value, step FROM metrics WHERE run_id = ? ORDER BY step, id",
                (r["id"],),
            ).fetchall()
            last = {}
            for m in metric_rows:  # ordered by step then id: the final assignment wins
                last[m["key"]] = m["value"]
            runs.append(
                dict(
                    id=r["id"],
                    status=r["status"],
                    tags=_loads(r["tags"]),
                    tags_raw=r["tags"],
                    structural_hash=r["structural_hash"],
                    config=_loads(r["config"]),
                    config_raw=r["config"],
                    start_time=r["start_time"],
                    end_time=r["end_time"],
                    metric_count=len(metric_rows),
                    metric_count_by_key={
                        k: n
                        for k, n in con.execute(
                            "SELECT key, COUNT(*) FROM metrics WHERE run_id = ? GROUP BY key ORDER BY key",
                            (r["id"],),
                        )
                    },
                    last_metrics=dict(sorted(last.items())),
                    artifacts=[
                        dict(
                            path=a["path"],
                            data_type=a["data_type"],
                            data_info=_loads(a["data_info"]),
                            data_info_raw=a["data_info"],
                        )
                        for a in con.execute(
                            "SELECT path, data_type, data_info FROM artifacts WHERE run_id = ? ORDER BY id",
                            (r["id"],),
                        )
                    ],
                    fingerprints=[
                        dict(
                            trace_id=f["trace_id"],
                            trace_type=f["trace_type"],
                            fingerprint=f["fingerprint"],
                        )
                        for f in con.execute(
                            "SELECT trace_id, trace_type, fingerprint FROM fingerprints WHERE run_id = ? ORDER BY id",
                            (r["id"],),
                        )
                    ],
                )
            )
        projects[p["name"]] = dict(
            id=p["id"],
            description=p["description"],
            created_at=p["created_at"],
            runs=runs,
        )

    def one(sql):
        return con.execute(sql).fetchone()[0]

    distinct_ts = [
        row[0] for row in con.execute("SELECT DISTINCT timestamp FROM metrics ORDER BY 1")
    ]
    time_formats = dict(
        note=(
            'Raw TEXT as stored by SQLAlchemy\'s SQLite DateTime type: "YYYY-MM-DD HH:MM:SS.ffffff", '
            "no timezone suffix. start_time/created_at come from naive datetime.utcnow(); "
            "end_time from aware datetime.now(timezone.utc) with the offset dropped (both UTC wall "
            "clock); metrics.timestamp is one aware UTC datetime evaluated when schema.py was "
            "imported, so every metric row written by one process shares it."
        ),
        column_typeof={
            f"{t}.{c}": one(f"SELECT DISTINCT typeof({c}) FROM {t} WHERE {c} IS NOT NULL")
            for t, c in [
                ("projects", "created_at"),
                ("experiments", "start_time"),
                ("experiments", "end_time"),
                ("metrics", "timestamp"),
            ]
        },
        projects_created_at=one("SELECT created_at FROM projects ORDER BY id LIMIT 1"),
        experiments_start_time=one("SELECT start_time FROM experiments ORDER BY id LIMIT 1"),
        experiments_end_time=one(
            "SELECT end_time FROM experiments WHERE end_time IS NOT NULL ORDER BY id LIMIT 1"
        ),
        metrics_timestamp=distinct_ts[0],
        metrics_timestamp_distinct_count=len(distinct_ts),
    )
    con.close()
    return dict(
        generator="tests/data/tracker/make_ato214_db.py",
        ato_version="2.1.4",
        schema=schema,
        schema_note=(
            "Statement text is identical under SQLAlchemy 2.0.x and 2.1.x, but the order of the "
            "CREATE INDEX statements within one table follows Python set order (string hash seed) "
            "and changes between processes: compare as a set keyed by name, not as a list."
        ),
        time_formats=time_formats,
        projects=projects,
    )


def write_expected():
    data = read_expected()
    try:
        import sqlalchemy  # only present when run in the ato 2.1.4 venv

        data["sqlalchemy_version"] = sqlalchemy.__version__
    except ImportError:
        pass
    if "sqlalchemy_version" not in data and os.path.exists(EXPECTED_PATH):
        with open(EXPECTED_PATH, encoding="utf-8") as f:
            previous = json.load(f).get("sqlalchemy_version")
        if previous is not None:
            data["sqlalchemy_version"] = previous
    with open(EXPECTED_PATH, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")


def main(argv):
    if "--expected" not in argv:
        write_db()
    write_expected()


if __name__ == "__main__":
    main(sys.argv[1:])
