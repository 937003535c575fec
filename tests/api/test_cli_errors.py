"""The CLI with bad arguments and bad settings: a non-zero exit and one ``error: ...`` line on
stderr, never a traceback (the real entry point, in a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from api import cli, cli_stores

REPO = Path(__file__).resolve().parents[2]

BAD: list[tuple[list[str], dict[str, str], int, str]] = [
    (["nosuch"], {}, 2, "No such command 'nosuch'"),
    (["list", "--limit", "abc"], {}, 2, "No such option: --limit"),
    (["create"], {}, 2, "Missing argument 'name'"),
    (["get"], {}, 2, "Missing argument 'name'"),
    (["token", "create"], {}, 2, "Missing option '--owner'"),
    (["cluster", "up", "--nodes", "abc"], {}, 2, "Invalid value for '--nodes'"),
    (["serve", "--port", "99999"], {}, 2, "setting port (STORESTACK_PORT)"),
    (["token", "create", "--owner", "x"], {"STORESTACK_MAX_ATTEMPTS": "0"}, 2, "setting max_attempts"),
    (["list"], {}, 2, "no API token"),
    (["list", "--url", "http://127.0.0.1:9", "--token", "sst_x"], {}, 1, "cannot reach http://127.0.0.1:9"),
    (["create", "Bad_Name", "--url", "http://127.0.0.1:9", "--token", "sst_x"], {}, 1, "cannot reach"),
]


@pytest.mark.parametrize(("args", "env", "code", "says"), BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_arguments_exit_non_zero_with_one_line(
    tmp_path: Path, args: list[str], env: dict[str, str], code: int, says: str
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STORESTACK_", "PULUMI_"))}
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=REPO,
        env={**clean, "HOME": str(tmp_path), "COLUMNS": "300", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and says in lines[0], lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_an_unexpected_exception_is_one_line_without_its_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("password=hunter2")

    monkeypatch.delenv("STORESTACK_DEBUG", raising=False)
    monkeypatch.setattr(cli_stores, "client_for", broken)
    with pytest.raises(SystemExit) as exited:
        cli.main(["list", "--url", "http://127.0.0.1:9", "--token", "sst_x"])
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == (
        "error: unexpected RuntimeError; run again with STORESTACK_DEBUG=1 for the traceback"
    )
    assert "hunter2" not in captured.out + captured.err
