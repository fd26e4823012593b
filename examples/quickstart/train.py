"""A training script configured by a Scope: run it with view names and overrides.

python train.py                       # the defaults
python train.py high_lr lr=0.05       # a named view, then a command-line override
python train.py dataset=%cifar10%     # the lazy view sees the override
python train.py manual                # the order of views and where each value came from
"""

from __future__ import annotations

from ato.scope import Scope

scope = Scope()


@scope.observe(default=True)
def defaults(config):
    config.lr = 0.001
    config.epochs = 100
    config.batch_size = 32
    config.model = "resnet50"
    config.dataset = "imagenet"


@scope.observe(priority=1)
def high_lr(config):
    config.lr = 0.01


@scope.observe(priority=2)
def long_training(config):
    config.epochs = 300


@scope.observe(default=True, lazy=True)
def dataset_shape(config):
    # Lazy: runs after the command line, so it sees dataset=... from there.
    config.num_classes = {"imagenet": 1000, "cifar10": 10}.get(config.dataset, 0)


@scope.manual
def docs(config):
    config.lr = "Learning rate for the optimizer"
    config.epochs = "Passes over the training set"
    config.num_classes = "Derived from the dataset"


@scope
def train(config):
    print(
        f"training {config.model} on {config.dataset} ({config.num_classes} classes): "
        f"lr={config.lr}, epochs={config.epochs}"
    )


if __name__ == "__main__":
    train()
