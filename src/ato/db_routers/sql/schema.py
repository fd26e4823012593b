"""The tracker's ORM classes under their 2.x module name (see :mod:`ato.tracking.schema`)."""

from __future__ import annotations

from ato.tracking.schema import Artifact, Base, Experiment, Fingerprint, Metric, Project

__all__ = ["Artifact", "Base", "Experiment", "Fingerprint", "Metric", "Project"]
