"""The control plane's data dir at start: private (``0700``), a ``077`` umask for everything the
process and its pulumi children write, and a check of what is already there.

Called by ``storestack serve`` and ``storestack worker`` before anything else touches the data dir.
Files readable by other users are reported with a fix, or refused when
``STORESTACK_STRICT_FILE_MODES`` is set. The simulated cluster's own directory (``cluster/``, written
by kwokctl) is not checked; the private data dir above it already closes it to other users.
"""

from __future__ import annotations

import logging
import os

from api.settings import Settings
from stacks.files import make_private_dir, wider_than_private

log = logging.getLogger("storestack.api")

CLUSTER_DIR = "cluster"


class FilesTooOpenError(Exception):
    """Files in the data dir are readable by other users and the settings say refuse."""


def secure_data_dir(settings: Settings) -> None:
    """Make the data dir private, set the umask, and report (or refuse) files others may read."""
    os.umask(0o077)
    data_dir = make_private_dir(settings.data_dir)
    wide = wider_than_private(data_dir, skip=(CLUSTER_DIR,))
    if not wide:
        return
    shown = ", ".join(str(p) for p in wide[:3]) + (f" and {len(wide) - 3} more" if len(wide) > 3 else "")
    message = (
        f"{len(wide)} paths in the data dir are open to other users ({shown}); "
        f"fix with: chmod -R go= {data_dir}"
    )
    if settings.strict_file_modes:
        raise FilesTooOpenError(message)
    log.warning(message)
