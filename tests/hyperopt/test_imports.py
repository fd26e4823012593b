"""torch is optional: HyperBand works without it, DistributedHyperBand says what to install."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WITHOUT_TORCH = """
import sys
sys.modules["torch"] = None  # as if torch were not installed: importing it raises
sys.argv = ["train.py"]
from ato.adict import ADict
from ato.hyperopt.hyperband import DistributedHyperBand, HyperBand
from ato.scope import Scope

scope = Scope()
spaces = ADict(x=ADict(param_type="INTEGER", param_range=(0, 7), num_samples=8))
result = HyperBand(scope, spaces, 0.5, 2).main(lambda config: config.x)()
assert result.config.x == 7, result
try:
    DistributedHyperBand(scope, spaces, 0.5, 2, rank=0, world_size=1)
except ImportError as error:
    print("ERROR:", error)
"""


def run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    ).stdout


def test_hyperband_runs_without_torch_and_distributed_names_the_extra():
    out = run(WITHOUT_TORCH)
    assert "ERROR: DistributedHyperBand needs PyTorch: pip install 'ato[distributed]'" in out


def test_a_single_process_search_never_imports_torch():
    code = WITHOUT_TORCH.replace('sys.modules["torch"] = None', "").split("try:")[0]
    out = run(code + "\nprint(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))")
    assert out.strip().endswith("[]")


def test_distributed_with_world_size_one_needs_no_process_group():
    code = WITHOUT_TORCH.replace('sys.modules["torch"] = None', "").split("result =")[0]
    code += (
        "hb = DistributedHyperBand(scope, spaces, 0.5, 2, rank=0, world_size=1)\n"
        "import torch.distributed as dist\n"
        "print(hb.main(lambda config: config.x)().metric, dist.is_initialized())\n"
    )
    assert run(code).split() == ["7.0", "False"]


TORCH_PACKAGES = ("torch", "functorch", "torchgen", "triton", "nvidia")


def test_in_an_environment_without_torch_at_all(tmp_path):
    """Not torch hidden from one interpreter: the base Python, with this venv's packages
    but torch's linked in, cannot find torch on any path."""
    packages = tmp_path / "site-packages"
    packages.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith(TORCH_PACKAGES):
            (packages / entry.name).symlink_to(entry)
    code = WITHOUT_TORCH.replace(
        'sys.modules["torch"] = None  # as if torch were not installed: importing it raises',
        "import importlib.util\nassert importlib.util.find_spec('torch') is None, sys.path",
    )
    assert "find_spec" in code
    out = subprocess.run(
        [sys._base_executable, "-s", "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": f"{ROOT / 'src'}:{packages}", "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ERROR: DistributedHyperBand needs PyTorch: pip install 'ato[distributed]'" in out.stdout
