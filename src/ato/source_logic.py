"""What a Python file's text does, hashed without its comments and layout: two versions
of a file with the same hash run alike, so an edit to a comment or to the wrapping of a
line is no cause. :mod:`ato.git_state` records it for the ``.py`` files a run's checkout
has changed; :mod:`ato.environment` compares it.

The syntax tree is dumped as the running Python builds it, so the hash of one text may
differ between Python versions: such a difference only fails to tell an edit cosmetic,
it never hides one. Docstrings and type comments count (a program may read them); line
numbers do not.
"""

from __future__ import annotations

import ast
import hashlib
import io
import tokenize

__all__ = ["LOGIC_LIMIT", "logic_of"]

#: Bytes: a bigger file (a generated table) is not parsed, and its edits count as they
#: are. Parsing costs about 1 s per MB, twice per file (as committed and now), at a run's
#: start.
LOGIC_LIMIT = 256_000


def logic_of(data: bytes | None) -> str | None:
    """A 16-digit hex hash of what the Python source ``data`` does (comments and layout
    do not count); None for no file, a file too big, or text that does not parse."""
    if data is None or len(data) > LOGIC_LIMIT:
        return None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        # Type comments count: TorchScript reads ``# type: (Tensor) -> Tensor``.
        tree = ast.parse(data.decode(encoding), type_comments=True)
        dumped = ast.dump(tree, include_attributes=False)
    except Exception:  # unparsable, nested past the stack, a bad coding cookie
        return None
    return hashlib.sha256(dumped.encode("utf-8", "surrogatepass")).hexdigest()[:16]
