"""A tracked training run: fits one weight by gradient descent and logs it.

python track.py                      # lr=0.05, logged to out/experiments.db
python track.py high_lr              # lr=0.3
python track.py experiment.sql.db_path:=sqlite:///other.db   # another database

Each run stores its config, where each value came from, the fingerprint of train_step,
the fingerprint of every evaluate() call, the environment, and the loss per epoch.
"""

from __future__ import annotations

from pathlib import Path

from ato.adict import ADict
from ato.scope import Scope
from ato.tracking import SQLLogger

HERE = Path(__file__).resolve().parent
scope = Scope()


@scope.observe(default=True)
def defaults(config):
    config.experiment = ADict(
        project_name="quickstart",
        sql=ADict(db_path=f"sqlite:///{HERE / 'out' / 'experiments.db'}"),
    )
    config.lr = 0.05
    config.epochs = 20
    config.target = 3.0


@scope.observe()
def high_lr(config):
    config.lr = 0.3


@scope.trace(trace_id="train_step")
def train_step(weight, lr, target):
    gradient = 2 * (weight - target)
    return weight - lr * gradient


@scope.runtime_trace(trace_id="evaluate")
def evaluate(weight, target):
    return round((weight - target) ** 2, 6)


@scope
def main(config):
    logger = SQLLogger(config)
    with logger.run(tags=["demo", f"lr={config.lr}"]) as run:
        weight = 0.0
        for epoch in range(config.epochs):
            weight = train_step(weight, config.lr, config.target)
            logger.log_metric("loss", (weight - config.target) ** 2, step=epoch)
        logger.log_metric("final_loss", evaluate(weight, config.target))
    print(f"run {int(run)} logged: lr={config.lr}, final weight {weight:.4f}")


if __name__ == "__main__":
    main()
