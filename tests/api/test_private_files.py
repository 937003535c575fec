"""The data dir at start: made 0700, a 077 umask, and files open to other users reported (or, with
``STORESTACK_STRICT_FILE_MODES``, refused: ``storestack serve`` exits with one error line)."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from api.private import FilesTooOpenError, secure_data_dir
from api.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def _settings(data_dir: Path, **extra: object) -> Settings:
    return Settings(data_dir=data_dir, pulumi_passphrase="not-secret", **extra)  # type: ignore[arg-type]


def test_a_fresh_data_dir_is_private_and_new_files_are_too(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    secure_data_dir(_settings(data_dir))
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    made = data_dir / "new.db"
    made.write_text("x")
    (data_dir / "sub").mkdir()
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    assert stat.S_IMODE((data_dir / "sub").stat().st_mode) == 0o700


def test_open_files_are_reported_with_the_fix(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    (data_dir / "storestack.db").write_text("x")
    (data_dir / "storestack.db").chmod(0o644)
    (data_dir / "cluster").mkdir(mode=0o755)  # the simulated cluster's, not checked
    (data_dir / "cluster" / "kubeconfig").write_text("x")
    (data_dir / "cluster" / "kubeconfig").chmod(0o644)
    with caplog.at_level(logging.WARNING):
        secure_data_dir(_settings(data_dir))
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    (record,) = [r for r in caplog.records if "open to other users" in r.getMessage()]
    message = record.getMessage()
    assert str(data_dir / "storestack.db") in message and "kubeconfig" not in message
    assert f"chmod -R go= {data_dir}" in message
    with pytest.raises(FilesTooOpenError):
        secure_data_dir(_settings(data_dir, strict_file_modes=True))


def test_serve_refuses_open_files_when_strict(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "passphrase").write_text("x")
    (data_dir / "passphrase").chmod(0o644)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STORESTACK_", "PULUMI_"))}
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve", "--port", "1"],
        cwd=REPO,
        env={
            **clean,
            "HOME": str(tmp_path),
            "STORESTACK_DATA_DIR": str(data_dir),
            "STORESTACK_STRICT_FILE_MODES": "1",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: 1 paths in the data dir are open"), (
        result.stderr
    )
    assert "Traceback" not in result.stderr
