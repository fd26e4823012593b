"""Which version of its file a loaded module runs, on every installed Python
(ato.loaded_version; its cases one by one are in tests/test_module_files.py)."""

from __future__ import annotations

from tests.test_canonical import on_every_python

SCRIPT = r'''
import json, os, subprocess, sys, tempfile

SOURCE = (
    'def loss(a, b):\n    """Doc."""\n    return a - b\n\n\n'
    'class Net:\n    """A net."""\n\n    def forward(self, x):\n        return x * 2\n\n\n'
    "class Encoder:\n    def forward(self, x):\n        return self.net(x)\n\n\n"
    "class Decoder:\n    def forward(self, x):\n        return self.net(x)\n\n\n"
    "import functools\n\n\ndef logged(f):\n    @functools.wraps(f)\n"
    "    def wrapper(*a):\n        return f(*a)\n\n    return wrapper\n\n\n"
    "@logged\ndef step(x):\n    return x + 1\n"
)
EDITS = {
    "comment above": "# a note\n" + SOURCE,
    "layout": SOURCE.replace("a - b", "a-b"),
    "docstring": SOURCE.replace("Doc.", "Other."),
    "class docstring": SOURCE.replace("A net.", "Another net."),
    "operands swapped": SOURCE.replace("a - b", "b - a"),
    "method constant": SOURCE.replace("x * 2", "x * 3"),
    "one of twins": SOURCE.replace("return self.net(x)\n", "return self.net(x) * 2\n", 1),
    "function renamed": SOURCE.replace("def loss", "def loss_v2"),
    "wrapper edited": SOURCE.replace("return f(*a)", "return f(*a[::-1])"),
}
INNER = """
import os, sys, warnings
sys.path.insert(0, os.getcwd())
import models.small
path = os.path.abspath(os.path.join('models', 'small.py'))
with open(path, 'w') as handle:
    handle.write(sys.argv[1])
stamp = os.stat(path).st_mtime_ns + 2_000_000_000
os.utime(path, ns=(stamp, stamp))
from ato.module_files import module_file
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    found = module_file(path, models.small)
print(found is not None, len(caught))
"""
results = {}
for label, edited in EDITS.items():
    for write in (True, False):
        root = tempfile.mkdtemp()
        os.mkdir(os.path.join(root, "models"))
        open(os.path.join(root, "models", "__init__.py"), "w").close()
        with open(os.path.join(root, "models", "small.py"), "w") as handle:
            handle.write(SOURCE)
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "" if write else "1"}
        run = subprocess.run(
            [sys.executable, "-c", INNER, edited], cwd=root, env=env,
            capture_output=True, text=True, check=True,
        )
        results[f"{label}, bytecode {'written' if write else 'not written'}"] = run.stdout.split()
print(json.dumps(results))
'''


def test_edits_that_change_nothing_that_runs_keep_the_module_on_every_python():
    """A comment, layout or docstring edit after loading changes nothing that runs: the
    module counts, with no warning; swapped operands, a method's constant (of one of two
    methods of the same name), a function renamed do: it is left out, with a warning."""
    for python, results in on_every_python(SCRIPT, []).items():
        for case, (counted, warnings) in results.items():
            changed = case.startswith(("operands", "method", "one of", "function", "wrapper"))
            assert (counted, warnings) == (("False", "1") if changed else ("True", "0")), (
                python,
                case,
            )
