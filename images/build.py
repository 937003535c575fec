"""Build the stand-in images into ``<tools dir>/images/`` as OCI archives, skipping fresh ones.

Called as ``python -m images.build [NAME ...] [--force] [--without-toolchain]`` (by setup and by
hand; setup builds the images that need no toolchain binary beside the toolchain's Go build, then
the rest). For each catalog image it hashes the recipe folder, the package list and this package's
own source into a stamp; an archive whose stamp matches is skipped, so a warm run takes about a
second. Debian images are made with ``mmdebstrap --variant=essential --format=directory`` against a
trixie sources list derived from the host's, customised (overlay files, ``customize.sh``), tarred
with numeric owners and wrapped by ``images.oci``. Each build's output goes to
``images/logs/<name>.log``; a failure prints one line naming the image and that log.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from images import oci
from images.catalog import IMAGES, Image, by_name, images_dir
from images.debian import HOST_SOURCES, cleanup_rootfs, mmdebstrap_command, trixie_sources
from toolchain.pins import tools_dir

PACKAGE_DIR = Path(__file__).resolve().parent


class BuildError(Exception):
    """A step failed; the message is one line, the details are in the log."""


class Builder:
    """Builds one image, writing command output to its log and progress to stdout."""

    def __init__(self, image: Image, root: Path) -> None:
        self.image = image
        self.root = root
        self.cache = images_dir(root)
        self.log_path = self.cache / "logs" / f"{image.name}.log"
        self.work = self.cache / f".work-{image.name}"
        self.rootfs = self.work / "rootfs"

    def say(self, message: str) -> None:
        print(f"[images] {self.image.name}: {message}", flush=True)

    def run(
        self,
        step: str,
        cmd: list[str],
        *,
        stdin: str | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """Run ``cmd`` with its output appended to the log; a failure raises ``BuildError``."""
        with self.log_path.open("a") as log:
            log.write(f"\n$ {' '.join(cmd)}\n")
            log.flush()
            proc = subprocess.run(
                cmd,
                input=stdin,
                text=True,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=env,
                check=False,
            )
        if proc.returncode != 0:
            raise BuildError(f"{step} exited {proc.returncode}")

    @contextmanager
    def timed(self, what: str) -> Iterator[None]:
        self.say(f"{what} ...")
        start = time.monotonic()
        yield
        self.say(f"{what.split(' ')[0]} done in {time.monotonic() - start:.1f}s")

    def stamp_value(self) -> str | None:
        """The hash of everything the archive is built from; ``None`` when an input is missing."""
        digest = hashlib.sha256()
        for base in (PACKAGE_DIR, self.image.recipe):
            pattern = "*.py" if base == PACKAGE_DIR else "**/*"
            for path in sorted(base.glob(pattern)):
                if path.is_file() or path.is_symlink():
                    rel = path.relative_to(PACKAGE_DIR)
                    executable = path.is_file() and os.access(path, os.X_OK)
                    digest.update(f"{rel}\0{executable}\0".encode())
                    digest.update(os.readlink(path).encode() if path.is_symlink() else path.read_bytes())
        digest.update(self.image.reference.encode())
        if self.image.builder == "debian":
            digest.update(trixie_sources(HOST_SOURCES).encode())
        elif self.image.builder == "binary":
            source = self.binary_source()
            if not source.is_file():
                return None
            digest.update(hashlib.sha256(source.read_bytes()).digest())
        return digest.hexdigest()

    def binary_source(self) -> Path:
        return self.root / str(self.image.recipe_data()["source"])

    def build(self, *, force: bool) -> bool:
        """Build unless fresh; returns whether an archive was (re)written."""
        stamp = self.stamp_value()
        if stamp is None:
            self.say(f"skipped: {self.binary_source()} is missing (build the toolchain first)")
            return False
        archive, stamp_file = self.image.archive(self.root), self.image.stamp(self.root)
        if not force and archive.is_file() and stamp_file.is_file() and stamp_file.read_text() == stamp:
            self.say(f"up to date ({self.image.reference})")
            return False
        start = time.monotonic()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.write_text(f"building {self.image.reference}\n")
        stamp_file.unlink(missing_ok=True)
        shutil.rmtree(self.work, ignore_errors=True)
        self.rootfs.parent.mkdir(parents=True)
        try:
            layer = getattr(self, f"_build_{self.image.builder}")()
            with self.timed("oci archive"):
                oci.write_archive(layer, self.image.config(), self.image.reference, archive)
        finally:
            shutil.rmtree(self.work, ignore_errors=True)
        stamp_file.write_text(stamp)
        size = archive.stat().st_size / (1 << 20)
        self.say(f"built {self.image.reference} in {time.monotonic() - start:.1f}s ({size:.1f} MiB)")
        return True

    def _build_go(self) -> Path:
        go = shutil.which("go")
        if go is None:
            raise BuildError("no go on PATH")
        self.rootfs.mkdir()
        out = self.rootfs / str(self.image.recipe_data()["binary"]).lstrip("/")
        env = dict(os.environ, CGO_ENABLED="0", GOTOOLCHAIN="local", GOOS="linux", GOARCH="amd64", GOFLAGS="")
        cmd = [go, "build", "-trimpath", "-ldflags=-s -w", "-o", str(out), "main.go"]
        with self.timed("go build"):
            self.run("go build", cmd, cwd=self.image.recipe, env=env)
        os.utime(out, (0, 0))
        return self.rootfs

    def _build_binary(self) -> Path:
        data = self.image.recipe_data()
        self.rootfs.mkdir()
        out = self.rootfs / str(data["binary"]).lstrip("/")
        shutil.copyfile(self.binary_source(), out)
        out.chmod(0o755)
        os.utime(out, (0, 0))
        self.say(f"copied {self.binary_source()}")
        return self.rootfs

    def _build_debian(self) -> Path:
        if os.geteuid() != 0:
            raise BuildError("Debian images need root (mmdebstrap in root mode, chroot)")
        data = self.image.recipe_data()
        suite = str(data.get("suite", "trixie"))
        packages = self.image.packages()
        with self.timed(f"mmdebstrap {suite} ({len(packages)} packages)"):
            cmd = mmdebstrap_command(self.rootfs, suite, packages, str(data.get("variant", "essential")))
            self.run("mmdebstrap", cmd, stdin=trixie_sources(HOST_SOURCES, suite))
        with self.timed("customise"):
            overlay = self.image.recipe / "files"
            if overlay.is_dir():
                shutil.copytree(overlay, self.rootfs, symlinks=True, dirs_exist_ok=True)
            script = self.image.recipe / "customize.sh"
            if script.is_file():
                cmd = ["bash", "-eu", str(script), str(self.rootfs)]
                self.run("customize.sh", cmd, cwd=self.image.recipe)
            cleanup_rootfs(self.rootfs)
        layer = self.work / "layer.tar"
        with self.timed("tar"):
            cmd = ["tar", "--create", "--file", str(layer), "--numeric-owner", "--sort=name", "--xattrs"]
            self.run("tar", [*cmd, "--directory", str(self.rootfs), "."])
            shutil.rmtree(self.rootfs)
        return layer


@contextmanager
def locked(cache: Path) -> Iterator[None]:
    """One builder at a time per cache (two setups may run at once)."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m images.build", description=__doc__.splitlines()[0])
    known = ", ".join(i.name for i in IMAGES)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"images to build ({known}); default all")
    parser.add_argument("--force", action="store_true", help="rebuild even when the stamp matches")
    parser.add_argument(
        "--without-toolchain",
        action="store_true",
        help="only the images that copy no binary out of the tool cache (they can build beside it)",
    )
    args = parser.parse_args(argv)
    try:
        selected = [by_name(n) for n in args.names] if args.names else list(IMAGES)
    except KeyError as exc:
        parser.error(str(exc.args[0]))
    if args.without_toolchain:
        selected = [image for image in selected if image.builder != "binary"]
    root = tools_dir()
    start = time.monotonic()
    failed = 0
    with locked(images_dir(root)):
        for image in selected:
            builder = Builder(image, root)
            try:
                builder.build(force=args.force)
            except (BuildError, OSError) as exc:
                failed += 1
                print(f"[images] {image.name}: FAILED: {exc}; log: {builder.log_path}", file=sys.stderr)
    print(f"[images] done in {time.monotonic() - start:.1f}s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
