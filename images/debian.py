"""Debian specifics of the image build: the trixie sources list, the mmdebstrap call, rootfs cleanup.

Called by ``images.build`` for the ``debian`` recipes. The sources list is derived from the host's
deb822 file (same URIs and Signed-By, suites swapped for trixie's) and handed to mmdebstrap on
stdin, so the host's own apt setup is never touched.
"""

from __future__ import annotations

import shutil
from pathlib import Path

HOST_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
FALLBACK_SOURCES = """\
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""

# Docs, man pages and translations are dropped at unpack time (copyright files are kept).
DPKG_EXCLUDES = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-include=/usr/share/doc/wordpress/*",  # WordPress links some files here
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
    "path-exclude=/usr/share/lintian/*",
    "path-exclude=/usr/share/linda/*",
)


def _stanzas(text: str) -> list[dict[str, str]]:
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in [*text.splitlines(), ""]:
        if not line.strip():
            if current:
                stanzas.append(current)
            current = {}
        elif not line.startswith("#") and ":" in line:
            key, _, value = line.partition(":")
            current[key.strip()] = value.strip()
    return stanzas


def trixie_sources(host: Path = HOST_SOURCES, suite: str = "trixie") -> str:
    """A deb822 sources list for ``suite``: the host's URIs and keys, ``-updates`` and ``-security``."""
    text = host.read_text() if host.is_file() else FALLBACK_SOURCES
    out: list[str] = []
    for stanza in _stanzas(text):
        if "deb" not in stanza.get("Types", "").split():
            continue
        security = any("security" in uri for uri in stanza.get("URIs", "").split())
        suites = f"{suite}-security" if security else f"{suite} {suite}-updates"
        lines = ["Types: deb", f"URIs: {stanza['URIs']}", f"Suites: {suites}"]
        lines.append(f"Components: {stanza.get('Components', 'main')}")
        if "Signed-By" in stanza:
            lines.append(f"Signed-By: {stanza['Signed-By']}")
        out.append("\n".join(lines) + "\n")
    if not out:
        raise ValueError(f"no deb stanza in {host}")
    return "\n".join(out)


def mmdebstrap_command(rootfs: Path, suite: str, packages: list[str], variant: str) -> list[str]:
    """``mmdebstrap`` making a directory tree; the sources list comes on stdin (mirror ``-``)."""
    cmd = ["mmdebstrap", f"--variant={variant}", "--format=directory", "--mode=root"]
    if packages:
        cmd.append(f"--include={','.join(packages)}")
    cmd += [f"--dpkgopt={opt}" for opt in DPKG_EXCLUDES]
    cmd += ["--aptopt=APT::Install-Recommends false", "--aptopt=Acquire::Languages none"]
    return [*cmd, suite, str(rootfs), "-"]


def _empty(directory: Path) -> None:
    if not directory.is_dir() or directory.is_symlink():
        return
    for child in directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def cleanup_rootfs(rootfs: Path) -> None:
    """Drop what an image should not carry: apt lists and caches, device nodes, temp and run files."""
    for rel in ("var/lib/apt/lists", "var/cache/apt", "dev", "tmp", "var/tmp", "run"):
        _empty(rootfs / rel)
    for old in (rootfs / "var/cache/debconf").glob("*-old"):
        old.unlink()
    (rootfs / "tmp").chmod(0o1777)
    for log in (rootfs / "var/log").glob("*.log"):
        log.unlink()
    for rel in ("var/log/apt", "var/log/alternatives.log", "var/log/dpkg.log"):
        path = rootfs / rel
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
