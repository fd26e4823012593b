"""ato 2.x's SQL tracker package; see :mod:`ato.tracking`."""
