"""The simulated cluster's processes: which run, which died, and starting a dead one again.

``SimCluster.up`` records each component's command line once the cluster is made
(``<cluster dir>/kwok/clusters/storestack/components.json``); ``status`` names the components
whose process is gone, and ``up`` on a cluster with dead components restarts them from those
command lines, keeping the cluster's state (etcd's data), instead of making a new, empty cluster.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller")
RECORD = "components.json"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _pid(kwok_dir: Path, name: str) -> int | None:
    try:
        return int((kwok_dir / "pids" / f"{name}.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def record(kwok_dir: Path) -> None:
    """Write every running component's command line (after the cluster is made)."""
    lines: dict[str, list[str]] = {}
    for name in COMPONENTS:
        pid = _pid(kwok_dir, name)
        if pid is not None and _alive(pid):
            raw = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0")
            lines[name] = raw.decode().split("\0")
    (kwok_dir / RECORD).write_text(json.dumps(lines, indent=1))


def recorded(kwok_dir: Path) -> bool:
    return (kwok_dir / RECORD).exists()


def dead(kwok_dir: Path) -> list[str]:
    """The recorded components whose process is gone."""
    if not recorded(kwok_dir):
        return []
    names = json.loads((kwok_dir / RECORD).read_text())
    return [name for name in COMPONENTS if name in names and not _alive(_pid(kwok_dir, name) or -1)]


def restart(kwok_dir: Path, names: list[str]) -> None:
    """Start the named components again with their recorded command lines (etcd first)."""
    lines: dict[str, list[str]] = json.loads((kwok_dir / RECORD).read_text())
    for name in COMPONENTS:
        if name not in names:
            continue
        with (kwok_dir / "logs" / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(
                lines[name], stdout=log, stderr=subprocess.STDOUT, start_new_session=True, umask=0o022
            )
        (kwok_dir / "pids" / f"{name}.pid").write_text(str(proc.pid))
