"""ato.tracking.interrupts: signals held back while the tracker writes."""

from __future__ import annotations

import os
import signal
import time

import pytest

from ato.tracking.interrupts import interrupts_held


def test_ctrl_c_is_held_back_while_a_batch_commits():
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        reached = []
        with pytest.raises(KeyboardInterrupt), interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the handler runs here, and only records it
            reached.append("end of block")
        assert reached == ["end of block"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)
