"""Private files: the data dir holds the Pulumi state, the stacks' encrypted config and (in the api
layer) the database and the passphrase, so it is made ``0700`` and checked for wider modes.

``stacks.Fleet`` makes its data dir private; ``storestack serve`` and ``worker`` (``api.cli``) also
set a ``077`` umask, so everything they and their pulumi processes write is ``0600``/``0700``, and
report (or, with a setting, refuse) files that are readable by other users.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

PRIVATE_DIR = 0o700


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and its parents) and make ``path`` itself ``0700`` when it is ours."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    info = path.stat()
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) != PRIVATE_DIR:
        path.chmod(PRIVATE_DIR)
    return path


def wider_than_private(root: Path, *, skip: tuple[str, ...] = ()) -> list[Path]:
    """``root`` and the files and directories under it that the group or others may read, write or
    enter, except the top-level entries named in ``skip``; symbolic links are not followed."""
    found: list[Path] = []
    if not root.exists():
        return found
    for directory, dirs, files in os.walk(root):
        here = Path(directory)
        if here == root:
            dirs[:] = [d for d in dirs if d not in skip]
            files = [f for f in files if f not in skip]
        for entry in (here, *(here / name for name in files)):
            if not entry.is_symlink() and stat.S_IMODE(entry.lstat().st_mode) & 0o077:
                found.append(entry)
    return found


def write_whole(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` at once: a reader sees the old file or the new one, never part
    of one (a temporary file beside it, renamed over it)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_text(text)
    os.replace(tmp, path)
