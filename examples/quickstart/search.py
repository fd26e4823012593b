"""A small HyperBand search on scikit-learn's digits, tracked, with a progress display.

    python examples/quickstart/search.py                 # defaults
    python examples/quickstart/search.py wide model.hidden=64  # a view, an override

Sixteen configs of an MLP (learning rate, batch size, activation) are trained one epoch
at a time with ``partial_fit``; each rung keeps the better half, until two remain,
which are trained for the full budget. Every trial is a run in out/search.db; started
again, the search resumes from there instead of training again. At the end: the best
config, and where each of its values came from. Needs scikit-learn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ato.adict import ADict
from ato.hyperopt.hyperband import HyperBand
from ato.scope import Scope

OUT = Path(__file__).resolve().parent / "out"


def make_scope() -> Scope:
    scope = Scope(name="hparams")

    @scope.observe(default=True)
    def defaults(hparams: ADict) -> None:
        hparams.model = ADict(hidden=32, activation="relu")
        hparams.optimizer = ADict(lr=0.001, batch_size=64)
        hparams.experiment = ADict(
            project_name="digits_search", sql=ADict(db_path=f"sqlite:///{OUT / 'search.db'}")
        )

    @scope.observe()
    def wide(hparams: ADict) -> None:
        hparams.model.hidden = 128

    return scope


SEARCH_SPACES = ADict(
    optimizer=ADict(
        lr=ADict(param_type="FLOAT", param_range=(1e-3, 1e-1), num_samples=4, space_type="LOG"),
        batch_size=ADict(param_type="INTEGER", param_range=(32, 128), num_samples=2),
    ),
    **{"model.activation": ADict(param_type="CATEGORY", categories=["relu", "tanh"])},
)


def main() -> ADict:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    OUT.mkdir(exist_ok=True)
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x / 16.0, y, test_size=0.3, random_state=0)
    scope = make_scope()
    hyperband = HyperBand(
        scope, SEARCH_SPACES, halving_rate=0.5, num_min_samples=2, mode="max",
        tracker=f"sqlite:///{OUT / 'search.db'}", max_budget=9,
    )  # fmt: skip

    @hyperband.main
    def train(hparams: ADict) -> float:
        model = MLPClassifier(
            hidden_layer_sizes=(hparams.model.hidden,),
            activation=hparams.model.activation,
            learning_rate_init=hparams.optimizer.lr,
            batch_size=hparams.optimizer.batch_size,
            random_state=0,
        )
        for _ in range(hparams.__budget__):  # epochs: 2, 3, 5, then 9 at the last rung
            model.partial_fit(x_train, y_train, classes=list(range(10)))
        return float(model.score(x_val, y_val))

    result = train()
    show(result)
    return result


def show(result: Any) -> None:
    config = result.config
    print(f"best validation accuracy {result.metric:.4f} (search {result.search_id[:12]})")
    print("best config, and where each value came from:")
    for key in ("optimizer.lr", "optimizer.batch_size", "model.activation", "model.hidden"):
        value: Any = config
        for part in key.split("."):
            value = value[part]
        print(f"  {key:<21} = {value!r:<22} <- {' <- '.join(result.provenance[key])}")
    print(f"rungs: {[len(rung) for rung in result.logs]} trials; runs in {OUT / 'search.db'}")


if __name__ == "__main__":
    main()
