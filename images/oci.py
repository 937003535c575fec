"""Write a one-layer OCI image archive (an ``oci-layout`` tar) with the standard library only.

Called by ``images.build`` after a recipe's rootfs is ready, and by the unit tests. The archive is
what ``ctr -n k8s.io image import`` reads: ``oci-layout``, ``index.json`` (annotated with the image
reference under ``io.containerd.image.name`` and ``org.opencontainers.image.ref.name``) and
``blobs/sha256/`` holding the uncompressed layer, the image config and the manifest. The layer is
stored uncompressed, so its digest is also its ``diff_id``. Output is deterministic where that is
cheap: sorted JSON, fixed timestamps in the config and in the archive's own entries.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar"
ANNOTATION_CONTAINERD_NAME = "io.containerd.image.name"
ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
FIXED_CREATED = "1970-01-01T00:00:00Z"
_CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImageConfig:
    """The runtime part of an OCI image config (what ``docker inspect`` calls ``Config``)."""

    entrypoint: Sequence[str] = ()
    cmd: Sequence[str] = ()
    env: Sequence[str] = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)
    user: str = ""
    working_dir: str = ""
    exposed_ports: Sequence[str] = ()
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    stop_signal: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImageConfig:
        """Read the recipe form: ``{"Entrypoint": [...], "Cmd": [...], "Env": [...], ...}``."""
        known = {"Entrypoint", "Cmd", "Env", "User", "WorkingDir", "ExposedPorts", "Labels", "StopSignal"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown image config keys: {sorted(unknown)}")
        defaults = cls()
        return cls(
            entrypoint=tuple(data.get("Entrypoint", ())),
            cmd=tuple(data.get("Cmd", ())),
            env=tuple(data.get("Env", defaults.env)),
            user=str(data.get("User", "")),
            working_dir=str(data.get("WorkingDir", "")),
            exposed_ports=tuple(data.get("ExposedPorts", ())),
            labels=dict(data.get("Labels", {})),
            stop_signal=str(data.get("StopSignal", "")),
        )

    def to_oci(self) -> dict[str, Any]:
        """The ``config`` object of the image config JSON; empty fields are left out."""
        out: dict[str, Any] = {}
        if self.entrypoint:
            out["Entrypoint"] = list(self.entrypoint)
        if self.cmd:
            out["Cmd"] = list(self.cmd)
        if self.env:
            out["Env"] = list(self.env)
        if self.user:
            out["User"] = self.user
        if self.working_dir:
            out["WorkingDir"] = self.working_dir
        if self.exposed_ports:
            out["ExposedPorts"] = {port: {} for port in sorted(self.exposed_ports)}
        if self.labels:
            out["Labels"] = dict(sorted(self.labels.items()))
        if self.stop_signal:
            out["StopSignal"] = self.stop_signal
        return out


def _json_bytes(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _descriptor(media_type: str, hexdigest: str, size: int) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": f"sha256:{hexdigest}", "size": size}


def _member(name: str, size: int = 0, *, directory: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if directory:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    else:
        info.size = size
        info.mode = 0o644
    return info


def tar_directory(rootfs: Path, out: Path) -> None:
    """Tar ``rootfs`` into ``out`` with sorted entries and numeric owners (small trees only).

    Large Debian trees are tarred by GNU tar in ``images.build``; this is for the single-binary images
    and the tests. Timestamps are kept as they are on disk.
    """
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        _add_tree(tar, rootfs, rootfs)


def _add_tree(tar: tarfile.TarFile, rootfs: Path, directory: Path) -> None:
    """Depth first, names sorted, so the entry order is the sorted order of the paths."""
    for path in sorted(directory.iterdir(), key=lambda p: p.name):
        info = tar.gettarinfo(str(path), arcname=path.relative_to(rootfs).as_posix())
        info.uname = info.gname = ""
        if info.isreg():
            with path.open("rb") as f:
                tar.addfile(info, f)
        else:
            tar.addfile(info)
        if info.isdir():
            _add_tree(tar, rootfs, path)


def image_config_json(config: ImageConfig, diff_id: str) -> bytes:
    """The full image config blob: linux/amd64, one layer, a fixed creation time."""
    return _json_bytes(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": FIXED_CREATED,
            "config": config.to_oci(),
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
            "history": [{"created": FIXED_CREATED, "created_by": "storestack images.build"}],
        }
    )


def write_archive(rootfs: Path, config: ImageConfig, reference: str, out: Path) -> str:
    """Write the OCI archive for ``rootfs`` (a tar file or a directory) to ``out``.

    Returns the manifest digest (``sha256:...``). ``out`` is replaced atomically.
    """
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        layer = rootfs
        if rootfs.is_dir():
            layer = Path(tmp) / "layer.tar"
            tar_directory(rootfs, layer)
        layer_hex, layer_size = _sha256_file(layer)
        config_blob = image_config_json(config, layer_hex)
        config_hex = hashlib.sha256(config_blob).hexdigest()
        manifest_blob = _json_bytes(
            {
                "schemaVersion": 2,
                "mediaType": MEDIA_MANIFEST,
                "config": _descriptor(MEDIA_CONFIG, config_hex, len(config_blob)),
                "layers": [_descriptor(MEDIA_LAYER, layer_hex, layer_size)],
            }
        )
        manifest_hex = hashlib.sha256(manifest_blob).hexdigest()
        manifest_desc = _descriptor(MEDIA_MANIFEST, manifest_hex, len(manifest_blob))
        manifest_desc["platform"] = {"architecture": "amd64", "os": "linux"}
        manifest_desc["annotations"] = {ANNOTATION_CONTAINERD_NAME: reference, ANNOTATION_REF_NAME: reference}
        index_blob = _json_bytes({"schemaVersion": 2, "mediaType": MEDIA_INDEX, "manifests": [manifest_desc]})
        layout_blob = _json_bytes({"imageLayoutVersion": "1.0.0"})

        partial = Path(tmp) / "archive.tar"
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            for name, blob in (("oci-layout", layout_blob), ("index.json", index_blob)):
                tar.addfile(_member(name, len(blob)), io.BytesIO(blob))
            tar.addfile(_member("blobs", directory=True))
            tar.addfile(_member("blobs/sha256", directory=True))
            for hexdigest, blob in sorted(((config_hex, config_blob), (manifest_hex, manifest_blob))):
                tar.addfile(_member(f"blobs/sha256/{hexdigest}", len(blob)), io.BytesIO(blob))
            with layer.open("rb") as f:
                tar.addfile(_member(f"blobs/sha256/{layer_hex}", layer_size), f)
        partial.replace(out)
    return f"sha256:{manifest_hex}"
