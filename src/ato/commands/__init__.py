"""The commands of the ``ato`` program (see :mod:`ato.cli`), one module per group:
:mod:`~ato.commands.runs` (runs, show, best, similar, traces), :mod:`~ato.commands.explain`,
:mod:`~ato.commands.plot`, and :mod:`~ato.commands.output` (tables, plain text, JSON)."""
