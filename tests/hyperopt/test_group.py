"""What a search keeps of a torch backend's error."""

from __future__ import annotations

import pytest

from ato.hyperopt.group import backend_said

GLOO = (
    "[/__w/pytorch/pytorch/third_party/gloo/gloo/transport/tcp/pair.cc:553] Connection "
    "closed by peer [127.0.0.1]:23980. This is typically caused by a remote worker "
    "crashing. Check the logs of the remote worker before reporting an error. GLHF! 🏖️"
)


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        (GLOO, "Connection closed by peer [127.0.0.1]:23980."),
        ("[../unbound_buffer.cc:81] Timed out waiting 1800000ms for recv operation",
         "Timed out waiting 1800000ms for recv operation"),
        ("Connection reset by peer", "Connection reset by peer"),
        ("", ""),
    ],
)  # fmt: skip
def test_a_backend_error_keeps_its_first_sentence_without_its_source_file(line, kept):
    assert backend_said(line) == kept
