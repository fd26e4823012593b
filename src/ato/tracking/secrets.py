"""Credentials stay out of what the tracker stores and prints.

A database URL with a password (``postgresql+psycopg://ana:s3cret@db/runs``) is part of
``config.experiment.sql.db_path``, so it would be stored in every run's config and shown
by everything that prints one. Every string that looks like a URL with a password is
stored and printed with the password masked. Better still, keep the password out of the
config: libpq reads ``PGPASSWORD`` and ``~/.pgpass``, and the URL itself can come from an
environment variable (``ATO_DB`` for the ``ato`` command).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["MASK", "mask_secrets", "masked_url"]

MASK = "***"

# scheme://user:password@host...: the password is what lies between the first ':' after
# the user and the last '@' before the host (a password may itself hold '@' or ':').
_URL_WITH_PASSWORD = re.compile(
    r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<password>[^\s/]*)@"
)


def masked_url(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    if "://" not in text or "@" not in text:
        return text
    return _URL_WITH_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@", text)


def mask_secrets(value: Any) -> Any:
    """``value`` (JSON-like data) with every URL password masked, strings in mappings
    and lists included."""
    if isinstance(value, str):
        return masked_url(value)
    if isinstance(value, Mapping):
        return {key: mask_secrets(child) for key, child in value.items()}
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value
