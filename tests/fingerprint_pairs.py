"""Labelled pairs of functions: SAME or DIFFERENT code fingerprint.

Each pair is ``(label, expected, source_a, source_b)``; each source defines a function
``f`` (and may define helpers). The tests write every source to its own file and import
it as a real module.
"""

from __future__ import annotations

SAME, DIFFERENT = "SAME", "DIFFERENT"

BASE = """
def f(config, x):
    out = model(x)
    return out
"""

PARTIAL = """
import functools

def g(x, scale):
    return x * scale

f = functools.partial(g, scale=2)
"""

MODULE = """
class Net:
    def __init__(self):
        self.width = 4

    def forward(self, x):
        return self.head(x + 1)

    def head(self, x):
        return x * 3

    def describe(self):
        return 'unused'

    def __call__(self, x):
        return self.forward(x)

f = Net()
"""

COMPOSITE = """
def magnitude(x):
    return abs(x)

class Block:
    def forward(self, x):
        return x - 1

class Net:
    def __init__(self):
        self.block = Block()
        self.norm = magnitude
        self.sizes = [1]

    def forward(self, x):
        return self.norm(self.block.forward(x)) * len(self.sizes)

f = Net()
"""

WRAPPED = """
def logged(fn):
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper

@logged
def f(x):
    return x + 1
"""

CLASS_DECORATOR = """
class logged:
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)

@logged
def f(x):
    return x + 1
"""

CLASS = """
class f:
    def __init__(self, k):
        self.k = k

    def run(self, x):
        return x * self.k
"""

DATACLASS = """
import dataclasses

@dataclasses.dataclass
class f:
    lr: float = 0.1
    depth: int = 2
"""

NAMED = """
import typing

class f(typing.NamedTuple):
    a: int
    b: int = 2

    def total(self):
        return self.a + self.b
"""

ENUM = """
import enum

class f(enum.Enum):
    RED = 1
    BLUE = 2

    def hot(self):
        return self is f.RED
"""


REGISTERED = """
REG = {}

def register(name):
    def deco(obj):
        REG[name] = obj
        return obj
    return deco

@register("small")
class Small:
    def score(self):
        return 1

@register("big")
class Big:
    def score(self):
        return 2
"""


PAIRS: list[tuple[str, str, str, str]] = [
    # -- cosmetic: SAME -------------------------------------------------------------------
    ("identical", SAME, BASE, BASE),
    (
        "comments",
        SAME,
        BASE,
        """
def f(config, x):
    # run the model
    out = model(x)  # forward
    return out  # done
""",
    ),
    (
        "blank lines and whitespace",
        SAME,
        BASE,
        """
def f( config ,x ) :

    out=model( x )


    return   out
""",
    ),
    (
        "line breaks",
        SAME,
        "def f(config, x):\n    return model(x, 1, 2)\n",
        "def f(config, x):\n    return model(\n        x,\n        1,\n        2,\n    )\n",
    ),
    (
        "docstring",
        SAME,
        BASE,
        '''
def f(config, x):
    """Run the model on x."""
    out = model(x)
    return out
''',
    ),
    (
        "type annotations",
        SAME,
        BASE,
        """
def f(config: dict, x: "Tensor") -> "Tensor":
    out: "Tensor" = model(x)
    count: int
    return out
""",
    ),
    ("own name", SAME, BASE, BASE.replace("def f(", "def f(").replace("\ndef f", "\ndef f")),
    (
        "renamed local",
        SAME,
        BASE,
        """
def f(config, x):
    result = model(x)
    return result
""",
    ),
    (
        "renamed loop variable",
        SAME,
        "def f(xs):\n    t = 0\n    for i in xs:\n        t += i\n    return t\n",
        "def f(xs):\n    acc = 0\n    for item in xs:\n        acc += item\n    return acc\n",
    ),
    (
        "renamed comprehension variable",
        SAME,
        "def f(xs):\n    return [v * 2 for v in xs if v]\n",
        "def f(xs):\n    return [w * 2 for w in xs if w]\n",
    ),
    (
        "renamed dict comprehension variables",
        SAME,
        "def f(d):\n    return {k: v for k, v in d.items()}\n",
        "def f(d):\n    return {a: b for a, b in d.items()}\n",
    ),
    (
        "renamed lambda parameter",
        SAME,
        "def f(xs):\n    return sorted(xs, key=lambda p: p[1])\n",
        "def f(xs):\n    return sorted(xs, key=lambda item: item[1])\n",
    ),
    (
        "renamed nested helper",
        SAME,
        "def f(x):\n    def helper(y):\n        return y + 1\n    return helper(x)\n",
        "def f(x):\n    def plus_one(z):\n        return z + 1\n    return plus_one(x)\n",
    ),
    (
        "renamed local import alias",
        SAME,
        "def f(x):\n    import numpy as np\n    return np.abs(x)\n",
        "def f(x):\n    import numpy as numerical\n    return numerical.abs(x)\n",
    ),
    (
        "order of names in one from-import",
        SAME,
        "def f(x):\n    from math import sin, cos\n    return sin(x) + cos(x)\n",
        "def f(x):\n    from math import cos, sin\n    return sin(x) + cos(x)\n",
    ),
    (
        "renamed exception variable",
        SAME,
        "def f(x):\n    try:\n        return g(x)\n    except ValueError as e:\n        return str(e)\n",
        "def f(x):\n    try:\n        return g(x)\n    except ValueError as err:\n        return str(err)\n",
    ),
    (
        "renamed with-target",
        SAME,
        "def f(p):\n    with open(p) as fh:\n        return fh.read()\n",
        "def f(p):\n    with open(p) as handle:\n        return handle.read()\n",
    ),
    (
        "renamed walrus target",
        SAME,
        "def f(xs):\n    if (n := len(xs)) > 3:\n        return n\n    return 0\n",
        "def f(xs):\n    if (size := len(xs)) > 3:\n        return size\n    return 0\n",
    ),
    (
        "swapped names consistently",
        SAME,
        "def f(x):\n    a = x + 1\n    b = x * 2\n    return a - b\n",
        "def f(x):\n    b = x + 1\n    a = x * 2\n    return b - a\n",
    ),
    (
        "trace decorator and its trace_id",
        SAME,
        "@scope.trace(trace_id='one')\ndef f(x):\n    return x\n",
        "@scope.trace(trace_id='two')\ndef f(x):\n    return x\n",
    ),
    (
        "trace decorator present or not",
        SAME,
        "@scope.trace()\ndef f(x):\n    return x\n",
        "def f(x):\n    return x\n",
    ),
    (
        "dict unpacking (2.x crashed here)",
        SAME,
        "def f(defaults, lr):\n    merged = {**defaults, 'lr': lr}\n    return merged\n",
        "def f(defaults, lr):\n    out = {**defaults, 'lr': lr}\n    return out\n",
    ),
    (
        "nested function parameters renamed",
        SAME,
        "def f(x):\n    def g(a, b=2):\n        return a * b\n    return g(x)\n",
        "def f(x):\n    def h(m, n=2):\n        return m * n\n    return h(x)\n",
    ),
    (
        "global and local of the same name in a comprehension",
        SAME,
        "def f(xs):\n    return [len(v) for v in xs], len(xs)\n",
        "def f(xs):\n    return [len(u) for u in xs], len(xs)\n",
    ),
    (
        "f-string spacing",
        SAME,
        "def f(loss):\n    return f'{loss:.3f}'\n",
        "def f(loss):\n    return f'{ loss :.3f}'\n",
    ),
    (
        "parenthesised expression",
        SAME,
        "def f(a, b):\n    return (a + b)\n",
        "def f(a, b):\n    return a + b\n",
    ),
    (
        "string quote style",
        SAME,
        "def f(x):\n    return x + 'a'\n",
        'def f(x):\n    return x + "a"\n',
    ),
    (
        "implicit string concatenation",
        SAME,
        "def f(x):\n    return x + 'ab'\n",
        "def f(x):\n    return x + ('a'\n        'b')\n",
    ),
    (
        "trailing pass after docstring-only body",
        SAME,
        "def f(x):\n    '''doc'''\n",
        "def f(x):\n    pass\n",
    ),
    (
        "class body inside function: method locals renamed",
        SAME,
        "def f(x):\n    class A:\n        def m(self, v):\n            w = v\n            return w\n    return A().m(x)\n",
        "def f(x):\n    class A:\n        def m(self, v):\n            q = v\n            return q\n    return A().m(x)\n",
    ),
    # -- logic: DIFFERENT ----------------------------------------------------------------
    (
        "constant",
        DIFFERENT,
        "def f(x):\n    return x * 2\n",
        "def f(x):\n    return x * 3\n",
    ),
    (
        "constant type",
        DIFFERENT,
        "def f(x):\n    return x * 2\n",
        "def f(x):\n    return x * 2.0\n",
    ),
    (
        "bool vs int constant",
        DIFFERENT,
        "def f(x):\n    return x + 1\n",
        "def f(x):\n    return x + True\n",
    ),
    (
        "string constant",
        DIFFERENT,
        "def f(x):\n    return x + 'a'\n",
        "def f(x):\n    return x + 'b'\n",
    ),
    (
        "operator",
        DIFFERENT,
        "def f(a, b):\n    return a + b\n",
        "def f(a, b):\n    return a - b\n",
    ),
    (
        "comparison operator",
        DIFFERENT,
        "def f(a, b):\n    return a < b\n",
        "def f(a, b):\n    return a <= b\n",
    ),
    (
        "readme: times two",
        DIFFERENT,
        "def f(config):\n    loss = model(data)\n    return loss\n",
        "def f(config):\n    loss = model(data) * 2\n    return loss\n",
    ),
    (
        "call target attribute",
        DIFFERENT,
        "def f(model, x):\n    return model(x)\n",
        "def f(model, x):\n    return model.backbone(x)\n",
    ),
    (
        "readme: unsafe refactor",
        DIFFERENT,
        "def f(model, x):\n    out = model(x)\n    return out\n",
        "def f(model, x):\n    features = model.backbone(x)\n    logits = model.head(features)\n    return logits\n",
    ),
    (
        "attribute name",
        DIFFERENT,
        "def f(m):\n    return m.train()\n",
        "def f(m):\n    return m.eval()\n",
    ),
    (
        "argument order",
        DIFFERENT,
        "def f(a, b):\n    return g(a, b)\n",
        "def f(a, b):\n    return g(b, a)\n",
    ),
    (
        "keyword name",
        DIFFERENT,
        "def f(x):\n    return g(x, dim=1)\n",
        "def f(x):\n    return g(x, axis=1)\n",
    ),
    (
        "referenced global name",
        DIFFERENT,
        "def f(x):\n    return relu(x)\n",
        "def f(x):\n    return gelu(x)\n",
    ),
    (
        "global vs local",
        DIFFERENT,
        "def f(x):\n    y = x\n    return y\n",
        "def f(x):\n    return y\n",
    ),
    (
        "control flow: if vs while",
        DIFFERENT,
        "def f(x):\n    if x:\n        x -= 1\n    return x\n",
        "def f(x):\n    while x:\n        x -= 1\n    return x\n",
    ),
    (
        "control flow: else branch",
        DIFFERENT,
        "def f(x):\n    if x:\n        return 1\n    return 2\n",
        "def f(x):\n    if x:\n        return 1\n    else:\n        return 3\n",
    ),
    (
        "statement order",
        DIFFERENT,
        "def f(x):\n    g(x)\n    h(x)\n",
        "def f(x):\n    h(x)\n    g(x)\n",
    ),
    (
        "break vs continue",
        DIFFERENT,
        "def f(xs):\n    for v in xs:\n        if v:\n            break\n",
        "def f(xs):\n    for v in xs:\n        if v:\n            continue\n",
    ),
    (
        "default value",
        DIFFERENT,
        "def f(x, scale=1.0):\n    return x * scale\n",
        "def f(x, scale=2.0):\n    return x * scale\n",
    ),
    (
        "keyword-only default",
        DIFFERENT,
        "def f(x, *, scale=1):\n    return x * scale\n",
        "def f(x, *, scale=2):\n    return x * scale\n",
    ),
    (
        "other decorator",
        DIFFERENT,
        "@torch.no_grad()\ndef f(x):\n    return x\n",
        "def f(x):\n    return x\n",
    ),
    (
        "decorator argument",
        DIFFERENT,
        "@cache(maxsize=1)\ndef f(x):\n    return x\n",
        "@cache(maxsize=2)\ndef f(x):\n    return x\n",
    ),
    (
        "parameter name",
        DIFFERENT,
        "def f(config, x):\n    return x\n",
        "def f(cfg, x):\n    return x\n",
    ),
    (
        "parameter order",
        DIFFERENT,
        "def f(a, b):\n    return a\n",
        "def f(b, a):\n    return a\n",
    ),
    (
        "positional-only vs normal parameter",
        DIFFERENT,
        "def f(a, /, b):\n    return a + b\n",
        "def f(a, b):\n    return a + b\n",
    ),
    (
        "varargs",
        DIFFERENT,
        "def f(*args):\n    return args\n",
        "def f(*items):\n    return items\n",
    ),
    (
        "dict literal key order",
        DIFFERENT,
        "def f(a, b):\n    return {'a': a, 'b': b}\n",
        "def f(a, b):\n    return {'b': b, 'a': a}\n",
    ),
    (
        "f-string text",
        DIFFERENT,
        "def f(loss):\n    return f'{loss=}'\n",
        "def f(loss):\n    return f'{loss}'\n",
    ),
    (
        "f-string self-documenting name",
        DIFFERENT,
        "def f(x):\n    loss = x\n    return f'{loss=}'\n",
        "def f(x):\n    value = x\n    return f'{value=}'\n",
    ),
    (
        "f-string format spec",
        DIFFERENT,
        "def f(loss):\n    return f'{loss:.3f}'\n",
        "def f(loss):\n    return f'{loss:.4f}'\n",
    ),
    (
        "async vs sync",
        DIFFERENT,
        "async def f(x):\n    return x\n",
        "def f(x):\n    return x\n",
    ),
    (
        "await",
        DIFFERENT,
        "async def f(x):\n    return await g(x)\n",
        "async def f(x):\n    return g(x)\n",
    ),
    (
        "import target",
        DIFFERENT,
        "def f(x):\n    from math import sin\n    return sin(x)\n",
        "def f(x):\n    from numpy import sin\n    return sin(x)\n",
    ),
    (
        "list vs tuple literal",
        DIFFERENT,
        "def f(a):\n    return [a, 1]\n",
        "def f(a):\n    return (a, 1)\n",
    ),
    (
        "subscript index",
        DIFFERENT,
        "def f(xs):\n    return xs[0]\n",
        "def f(xs):\n    return xs[-1]\n",
    ),
    (
        "slice",
        DIFFERENT,
        "def f(xs):\n    return xs[:100]\n",
        "def f(xs):\n    return xs[:10]\n",
    ),
    (
        "augmented operator",
        DIFFERENT,
        "def f(x):\n    x += 1\n    return x\n",
        "def f(x):\n    x -= 1\n    return x\n",
    ),
    (
        "unary minus",
        DIFFERENT,
        "def f(x):\n    return -x\n",
        "def f(x):\n    return x\n",
    ),
    (
        "boolean operator",
        DIFFERENT,
        "def f(a, b):\n    return a and b\n",
        "def f(a, b):\n    return a or b\n",
    ),
    (
        "exception type",
        DIFFERENT,
        "def f(x):\n    try:\n        return g(x)\n    except ValueError:\n        return 0\n",
        "def f(x):\n    try:\n        return g(x)\n    except KeyError:\n        return 0\n",
    ),
    (
        "raise message",
        DIFFERENT,
        "def f(x):\n    raise ValueError('a')\n",
        "def f(x):\n    raise ValueError('b')\n",
    ),
    (
        "comprehension condition",
        DIFFERENT,
        "def f(xs):\n    return [v for v in xs if v > 0]\n",
        "def f(xs):\n    return [v for v in xs if v >= 0]\n",
    ),
    (
        "generator vs list comprehension",
        DIFFERENT,
        "def f(xs):\n    return sum(v for v in xs)\n",
        "def f(xs):\n    return sum([v for v in xs])\n",
    ),
    (
        "global statement",
        DIFFERENT,
        "def f(x):\n    global counter\n    counter = x\n",
        "def f(x):\n    counter = x\n",
    ),
    (
        "lambda body",
        DIFFERENT,
        "def f(xs):\n    return sorted(xs, key=lambda p: p[0])\n",
        "def f(xs):\n    return sorted(xs, key=lambda p: p[1])\n",
    ),
    (
        "nested helper logic",
        DIFFERENT,
        "def f(x):\n    def g(y):\n        return y + 1\n    return g(x)\n",
        "def f(x):\n    def g(y):\n        return y + 2\n    return g(x)\n",
    ),
    (
        "inconsistent renaming (two locals merged)",
        DIFFERENT,
        "def f(x):\n    a = x\n    b = x\n    return a + b\n",
        "def f(x):\n    a = x\n    a = x\n    return a + a\n",
    ),
    (
        "with statement context",
        DIFFERENT,
        "def f(p):\n    with open(p) as h:\n        return h.read()\n",
        "def f(p):\n    with open(p, 'rb') as h:\n        return h.read()\n",
    ),
    (
        "return vs yield",
        DIFFERENT,
        "def f(x):\n    return x\n",
        "def f(x):\n    yield x\n",
    ),
    (
        "match case pattern",
        DIFFERENT,
        "def f(x):\n    match x:\n        case 1:\n            return 'a'\n    return 'b'\n",
        "def f(x):\n    match x:\n        case 2:\n            return 'a'\n    return 'b'\n",
    ),
    (
        "annotation-only vs assignment",
        DIFFERENT,
        "def f(x):\n    y: int\n    return x\n",
        "def f(x):\n    y: int = 0\n    return x\n",
    ),
    # -- scopes: names renamed per scope, the same on every Python --------------------
    (
        "sibling comprehensions reuse a name",
        SAME,
        "def f(xs, ys):\n    a = [v for v in xs]\n    b = [v for v in ys]\n    return a, b\n",
        "def f(xs, ys):\n    a = [v for v in xs]\n    b = [w for w in ys]\n    return a, b\n",
    ),
    (
        "three comprehensions renamed",
        SAME,
        "def f(xs, ys):\n"
        "    a = [v for v in xs if v]\n"
        "    b = {v for v in ys}\n"
        "    c = {k: v for k, v in zip(xs, ys)}\n"
        "    return a, b, c\n",
        "def f(xs, ys):\n"
        "    a = [p for p in xs if p]\n"
        "    b = {q for q in ys}\n"
        "    c = {key: val for key, val in zip(xs, ys)}\n"
        "    return a, b, c\n",
    ),
    (
        "comprehension reads the wrong variable",
        DIFFERENT,
        "def f(xs, ys):\n    a = [v for v in xs]\n    b = [w + v for w in ys for v in xs]\n"
        "    return a, b\n",
        "def f(xs, ys):\n    a = [v for v in xs]\n    b = [w + w for w in ys for v in xs]\n"
        "    return a, b\n",
    ),
    (
        "sibling nested functions reuse parameter names",
        SAME,
        "def f(x):\n    def g(y):\n        return y + 1\n    def h(y):\n        return y * 2\n"
        "    return g(x) + h(x)\n",
        "def f(x):\n    def g(a):\n        return a + 1\n    def h(b):\n        return b * 2\n"
        "    return g(x) + h(x)\n",
    ),
    (
        "nested functions swapped bodies",
        DIFFERENT,
        "def f(x):\n    def g(y):\n        return y + 1\n    def h(y):\n        return y * 2\n"
        "    return g(x) + h(x)\n",
        "def f(x):\n    def g(y):\n        return y * 2\n    def h(y):\n        return y + 1\n"
        "    return g(x) + h(x)\n",
    ),
    (
        "nonlocal renamed consistently",
        SAME,
        "def f(x):\n    total = 0\n    def add(v):\n        nonlocal total\n        total += v\n"
        "    add(x)\n    return total\n",
        "def f(x):\n    acc = 0\n    def add(v):\n        nonlocal acc\n        acc += v\n"
        "    add(x)\n    return acc\n",
    ),
    (
        "nonlocal of another variable",
        DIFFERENT,
        "def f(x):\n    a = 0\n    b = 0\n    def add(v):\n        nonlocal a\n        a += v\n"
        "    add(x)\n    return a + b\n",
        "def f(x):\n    a = 0\n    b = 0\n    def add(v):\n        nonlocal b\n        a = v\n"
        "    add(x)\n    return a + b\n",
    ),
    # -- what will run: partials, callable instances, wrappers, classes -------------------
    ("partial, unchanged", SAME, PARTIAL, PARTIAL),
    (
        "partial, reformatted",
        SAME,
        PARTIAL,
        PARTIAL.replace("scale=2", "scale = 2").replace("x * scale", "x*scale"),
    ),
    ("partial, bound keyword", DIFFERENT, PARTIAL, PARTIAL.replace("scale=2", "scale=3")),
    (
        "partial, bound positional",
        DIFFERENT,
        "import functools\ndef g(a, x):\n    return a + x\nf = functools.partial(g, 1)\n",
        "import functools\ndef g(a, x):\n    return a + x\nf = functools.partial(g, 2)\n",
    ),
    ("partial, its function", DIFFERENT, PARTIAL, PARTIAL.replace("x * scale", "x / scale")),
    (
        "partial, bound function",
        DIFFERENT,
        "import functools\ndef act(x):\n    return max(x, 0)\n"
        "def g(x, fn):\n    return fn(x)\nf = functools.partial(g, fn=act)\n",
        "import functools\ndef act(x):\n    return min(x, 0)\n"
        "def g(x, fn):\n    return fn(x)\nf = functools.partial(g, fn=act)\n",
    ),
    ("callable instance, unchanged", SAME, MODULE, MODULE),
    ("callable instance, forward", DIFFERENT, MODULE, MODULE.replace("x + 1", "x + 2")),
    (
        "callable instance, a method forward reaches",
        DIFFERENT,
        MODULE,
        MODULE.replace("x * 3", "x * 4"),
    ),
    (
        "callable instance, a method nothing calls",
        SAME,
        MODULE,
        MODULE.replace("'unused'", "'never called'"),
    ),
    (
        "callable instance, __call__",
        DIFFERENT,
        "class Step:\n    def __call__(self, x):\n        return x + 1\nf = Step()\n",
        "class Step:\n    def __call__(self, x):\n        return x - 1\nf = Step()\n",
    ),
    (
        "callable instance, an inherited method",
        DIFFERENT,
        "class Base:\n    def forward(self, x):\n        return x\n"
        "class Net(Base):\n    def __call__(self, x):\n        return super().forward(x)\n"
        "f = Net()\n",
        "class Base:\n    def forward(self, x):\n        return -x\n"
        "class Net(Base):\n    def __call__(self, x):\n        return super().forward(x)\n"
        "f = Net()\n",
    ),
    (
        "callable instance, the forward of a part it holds",
        DIFFERENT,
        COMPOSITE,
        COMPOSITE.replace("x - 1", "x - 2"),
    ),
    (
        "callable instance, a function it holds",
        DIFFERENT,
        COMPOSITE,
        COMPOSITE.replace("abs(x)", "abs(x) + 1"),
    ),
    # __init__ made the instance's parts: its code counts (a layer's width)...
    ("callable instance, its __init__", DIFFERENT, COMPOSITE, COMPOSITE.replace("[1]", "[2]")),
    # ...the values it was built with do not: instance state is not hashed.
    (
        "callable instance, the data it was built with",
        SAME,
        COMPOSITE.replace("__init__(self)", "__init__(self, n=1)").replace("[1]", "[n]"),
        COMPOSITE.replace("__init__(self)", "__init__(self, n=1)")
        .replace("[1]", "[n]")
        .replace("f = Net()", "f = Net(2)"),
    ),
    ("wrapper without functools.wraps, unchanged", SAME, WRAPPED, WRAPPED),
    (
        "wrapper without functools.wraps, comments",
        SAME,
        WRAPPED,
        WRAPPED.replace("return x + 1", "return x + 1  # add one"),
    ),
    (
        "wrapper without functools.wraps, the real body",
        DIFFERENT,
        WRAPPED,
        WRAPPED.replace("x + 1", "x + 2"),
    ),
    (
        "wrapper without functools.wraps, the wrapper",
        DIFFERENT,
        WRAPPED,
        WRAPPED.replace("fn(*args, **kwargs)", "fn(*args)"),
    ),
    (
        "wrapper without functools.wraps, its variable renamed",
        SAME,
        WRAPPED,
        WRAPPED.replace("fn", "func"),
    ),
    (
        "wrapper without functools.wraps, its decorator's argument",
        DIFFERENT,
        "def repeat(times):\n    def decorate(fn):\n        def wrapper(x):\n"
        "            return [fn(x) for _ in range(times)]\n        return wrapper\n"
        "    return decorate\n@repeat(2)\ndef f(x):\n    return x\n",
        "def repeat(times):\n    def decorate(fn):\n        def wrapper(x):\n"
        "            return [fn(x) for _ in range(times)]\n        return wrapper\n"
        "    return decorate\n@repeat(3)\ndef f(x):\n    return x\n",
    ),
    (
        "decorator class without functools.wraps, the real body",
        DIFFERENT,
        CLASS_DECORATOR,
        CLASS_DECORATOR.replace("x + 1", "x + 2"),
    ),
    ("class, unchanged", SAME, CLASS, CLASS),
    ("class, a method", DIFFERENT, CLASS, CLASS.replace("x * self.k", "x + self.k")),
    (
        "class, docstrings and comments",
        SAME,
        CLASS,
        CLASS.replace("def run(self, x):", 'def run(self, x):\n        """Run."""  # go'),
    ),
    (
        "class, a method renamed",
        DIFFERENT,
        CLASS,
        CLASS.replace("def run(", "def apply("),
    ),
    # Classes Python writes methods into: their fields and defaults count, what the
    # running Python adds (3.13's __replace__, an enum's bookkeeping) does not.
    (
        "a field of a class defined inside the function",
        DIFFERENT,
        "import dataclasses\ndef f(x):\n    @dataclasses.dataclass\n    class C:\n"
        "        a: int\n        b: int\n    return C(x, 2)\n",
        "import dataclasses\ndef f(x):\n    @dataclasses.dataclass\n    class C:\n"
        "        a: int\n    return C(x, 2)\n",
    ),
    (
        "a bare annotation in a method body",
        SAME,
        "class f:\n    def run(self, x):\n        y: int\n        return x\n",
        "class f:\n    def run(self, x):\n        return x\n",
    ),
    (
        "a method whose multi-line string starts at column 0",
        SAME,
        'class f:\n    def query(self, table):\n        return f"""\nSELECT *\nFROM {table}\n"""\n',
        'class f:\n    def query(self, table):  # as run\n        return f"""\nSELECT *\nFROM {table}\n"""\n',
    ),
    ("dataclass, a default", DIFFERENT, DATACLASS, DATACLASS.replace("0.1", "0.5")),
    (
        "dataclass, a field's type",
        DIFFERENT,
        DATACLASS,
        DATACLASS.replace("depth: int", "depth: float"),
    ),
    ("dataclass, unchanged", SAME, DATACLASS, DATACLASS),
    (
        "NamedTuple with a method, a default",
        DIFFERENT,
        NAMED,
        NAMED.replace("b: int = 2", "b: int = 3"),
    ),
    ("NamedTuple with a method, unchanged", SAME, NAMED, NAMED),
    ("Enum with a method, a member's value", DIFFERENT, ENUM, ENUM.replace("RED = 1", "RED = 3")),
    ("Enum with a method, unchanged", SAME, ENUM, ENUM),
    (
        "a class decorator's argument",
        DIFFERENT,
        REGISTERED.replace("class Small", "class f"),
        REGISTERED.replace("class Small", "class f").replace('"small"', '"tiny"'),
    ),
    (
        "a class decorator, unchanged",
        SAME,
        REGISTERED.replace("class Small", "class f"),
        REGISTERED.replace("class Small", "class f") + "# a comment\n",
    ),
]
