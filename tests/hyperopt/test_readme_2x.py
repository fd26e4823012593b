"""The HyperBand and DistributedHyperBand examples of ato 2.1.4's README, run as programs.

The examples are kept as the README wrote them; only what they leave to the reader
(``create_model``, ``Adam``, ``train_and_evaluate``...) is defined above them, and the
distributed one runs with gloo on CPU (the README's ``nccl`` needs GPUs) under torchrun.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

STUBS = """
import math

class Model:
    def __init__(self, name):
        self.name = name

def create_model(name):
    return Model(name)

class Adam:
    def __init__(self, lr):
        self.lr = lr

def compute_epochs(num_halved):
    return [1, 3, 10, 30, 100][num_halved]

def train_and_evaluate(model, optimizer, num_epochs):
    quality = {"resnet50": 0.80, "resnet101": 0.85, "efficientnet_b0": 0.83}[model.name]
    return quality - 0.02 * abs(math.log10(optimizer.lr) + 3) + 0.0001 * num_epochs
"""

SEARCH_SPACES = """
# Define search space
search_spaces = ADict(
    lr=ADict(
        param_type='FLOAT',
        param_range=(1e-5, 1e-1),
        num_samples=20,
        space_type='LOG'  # Logarithmic spacing
    ),
    batch_size=ADict(
        param_type='INTEGER',
        param_range=(16, 128),
        num_samples=5,
        space_type='LOG'
    ),
    model=ADict(
        param_type='CATEGORY',
        categories=['resnet50', 'resnet101', 'efficientnet_b0']
    )
)
"""

BASIC = (
    """
from ato.adict import ADict
from ato.hyperopt.hyperband import HyperBand
from ato.scope import Scope

scope = Scope()
"""
    + SEARCH_SPACES
    + """
# Create Hyperband optimizer
hyperband = HyperBand(
    scope,
    search_spaces,
    halving_rate=0.3,      # Keep top 30% each round
    num_min_samples=3,     # Stop when <= 3 configs remain
    mode='max'             # Maximize metric (use 'min' for loss)
)

@hyperband.main
def train(config):
    # Your training code
    model = create_model(config.model)
    optimizer = Adam(lr=config.lr)

    # Use __num_halved__ for early stopping
    num_epochs = compute_epochs(config.__num_halved__)

    # Train and return metric
    val_acc = train_and_evaluate(model, optimizer, num_epochs)
    return val_acc

if __name__ == '__main__':
    # Run hyperparameter search
    best_result = train()
    print(f"Best config: {best_result.config}")
    print(f"Best metric: {best_result.metric}")
"""
)

DISTRIBUTED = (
    """
import torch
from torch.nn.parallel import DistributedDataParallel as DDP
from ato.adict import ADict
from ato.scope import Scope

scope = Scope()
"""
    + SEARCH_SPACES
    + """
def create_model(config):
    return torch.nn.Linear(2, 1)

def train_and_evaluate(model):
    quality = {"resnet50": 0.80, "resnet101": 0.85, "efficientnet_b0": 0.83}
    config = scope.config
    return quality[config.model] - 0.02 * abs(math.log10(config.lr) + 3)

from ato.hyperopt.hyperband import DistributedHyperBand
import torch.distributed as dist

# Initialize distributed training
dist.init_process_group(backend='gloo')
rank = dist.get_rank()
world_size = dist.get_world_size()

# Create distributed hyperband
hyperband = DistributedHyperBand(
    scope,
    search_spaces,
    halving_rate=0.3,
    num_min_samples=3,
    mode='max',
    rank=rank,
    world_size=world_size,
    backend='pytorch'
)

@hyperband.main
def train(config):
    # Your distributed training code
    model = create_model(config)
    model = DDP(model)  # device_ids=[rank] on GPUs
    metric = train_and_evaluate(model)
    return metric

if __name__ == '__main__':
    result = train()
    if rank == 0:
        print(f"Best config: {result.config}")
    print(f"rank {rank}: {result.config.model} {result.config.lr:.6g} {result.metric:.6f}")
    dist.destroy_process_group()
"""
)


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def test_basic_usage(tmp_path):
    script = tmp_path / "search.py"
    script.write_text(STUBS + BASIC)
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, env=_env()
    ).stdout
    assert "'model': 'resnet101'" in out and "'__num_halved__': 4" in out
    metric = float(out.split("Best metric: ")[1])
    assert 0.85 < metric <= 0.86  # near lr = 1e-3, after 100 epochs at the final rung


def test_distributed_search_with_two_gloo_processes(tmp_path):
    pytest.importorskip("torch.distributed")
    script = tmp_path / "search.py"
    script.write_text("import math\n" + DISTRIBUTED)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
        "--master_addr=127.0.0.1", f"--master_port={port}", str(script),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=_env(), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    # Two processes share the pipe: a line of one may be cut by the other's output, so
    # the ranks' reports are found by their shape, not by line.
    reports = sorted(re.findall(r"rank (\d): (\S+) (\S+) (\d+\.\d{6})", out))
    assert [rank for rank, *_ in reports] == ["0", "1"], out
    assert reports[0][1:] == reports[1][1:]
    assert reports[0][1] == "resnet101"
    assert "Best config:" in out
