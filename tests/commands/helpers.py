"""A small database of real runs for the command tests."""

from __future__ import annotations

from ato.adict import ADict
from ato.scope import Scope
from ato.tracking import SQLLogger


def log_runs(url: str) -> list[int]:
    """Three runs of project 'vision' (one failed, one tagged 'best') and one of 'nlp'."""
    scope = Scope(name="cmd", enable_override=True)

    @scope.observe(default=True)
    def defaults(config):
        config.experiment = ADict(project_name="vision", sql=ADict(db_path=url))
        config.lr = 0.1
        config.model = "resnet"

    config = scope.apply()
    logger = SQLLogger(config)
    ids = []
    for index, (lr, tags) in enumerate([(0.1, ["base"]), (0.01, ["best"]), (0.5, [])]):
        config.lr = lr
        run = logger.run(tags=tags)
        ids.append(int(run))
        for step in range(5):
            logger.log_metric("val_loss", 1.0 / (step + 1) + lr, step=step)
            logger.log_metric("acc", 0.5 + 0.1 * step - lr, step=step)
        logger.finish("failed" if index == 2 else "completed")
    other = SQLLogger(ADict(experiment=ADict(project_name="nlp", sql=ADict(db_path=url))))
    with other.run():
        other.log_metric("bleu", 30.0)
    return ids
