"""``python -m ato``: the ``ato`` command (see :mod:`ato.cli`)."""

from ato.cli import main

raise SystemExit(main())
