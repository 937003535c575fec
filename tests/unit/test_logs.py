"""The control plane's log handler follows ``sys.stderr`` as it is at each record, so a command run
by a test runner (whose stand-in stderr is closed afterwards) leaves nothing writing to a closed
file: later records go to the stderr of the moment, and no "--- Logging error ---" is printed."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from api.logs import configure


def test_records_go_to_the_current_stderr_even_after_a_stand_in_was_closed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        stand_in = io.StringIO()
        original, sys.stderr = sys.stderr, stand_in
        try:
            configure()
            logging.getLogger("storestack.test").info("while swapped")
        finally:
            sys.stderr = original
        assert "while swapped" in stand_in.getvalue()
        stand_in.close()
        logging.getLogger("storestack.test").info("after the stand-in closed")
        err = capsys.readouterr().err
        assert "after the stand-in closed" in err
        assert "Logging error" not in err
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
