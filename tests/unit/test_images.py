"""The stand-in image tooling: the OCI writer's layout and the catalog's names (no containerd needed)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from images import catalog, oci
from images.debian import trixie_sources

REFERENCE = "localhost/storestack/test:1.0"


def _blob(archive: tarfile.TarFile, digest: str) -> bytes:
    assert digest.startswith("sha256:")
    member = archive.extractfile(f"blobs/sha256/{digest.removeprefix('sha256:')}")
    assert member is not None
    data = member.read()
    assert hashlib.sha256(data).hexdigest() == digest.removeprefix("sha256:"), "blob name is its digest"
    return data


def _json(archive: tarfile.TarFile, name: str) -> Any:
    member = archive.extractfile(name)
    assert member is not None
    return json.loads(member.read())


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "hello").write_bytes(b"#!/bin/sh\necho hello\n")
    (root / "bin" / "hello").chmod(0o755)
    (root / "etc").mkdir()
    (root / "etc" / "link").symlink_to("/bin/hello")
    return root


def _write(rootfs: Path, tmp_path: Path) -> tuple[Path, str]:
    config = oci.ImageConfig(
        entrypoint=("/bin/hello",),
        cmd=("--flag",),
        env=("PATH=/bin", "A=b"),
        user="33:33",
        working_dir="/srv",
        exposed_ports=("80/tcp",),
        labels={"x": "y"},
    )
    out = tmp_path / "image.oci.tar"
    digest = oci.write_archive(rootfs, config, REFERENCE, out)
    return out, digest


def test_oci_layout_is_consistent(rootfs: Path, tmp_path: Path) -> None:
    out, digest = _write(rootfs, tmp_path)
    with tarfile.open(out) as archive:
        assert _json(archive, "oci-layout") == {"imageLayoutVersion": "1.0.0"}
        index = _json(archive, "index.json")
        assert index["schemaVersion"] == 2
        [entry] = index["manifests"]
        assert entry["digest"] == digest
        assert entry["mediaType"] == oci.MEDIA_MANIFEST
        assert entry["platform"] == {"architecture": "amd64", "os": "linux"}
        assert entry["annotations"][oci.ANNOTATION_CONTAINERD_NAME] == REFERENCE
        assert entry["annotations"][oci.ANNOTATION_REF_NAME] == REFERENCE

        manifest_bytes = _blob(archive, entry["digest"])
        assert len(manifest_bytes) == entry["size"]
        manifest = json.loads(manifest_bytes)
        config_bytes = _blob(archive, manifest["config"]["digest"])
        assert len(config_bytes) == manifest["config"]["size"]
        config = json.loads(config_bytes)
        [layer_desc] = manifest["layers"]
        assert layer_desc["mediaType"] == oci.MEDIA_LAYER
        layer = _blob(archive, layer_desc["digest"])
        assert len(layer) == layer_desc["size"]

    assert config["os"] == "linux"
    assert config["architecture"] == "amd64"
    assert config["rootfs"] == {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(layer).hexdigest()}"]}
    assert config["config"] == {
        "Entrypoint": ["/bin/hello"],
        "Cmd": ["--flag"],
        "Env": ["PATH=/bin", "A=b"],
        "User": "33:33",
        "WorkingDir": "/srv",
        "ExposedPorts": {"80/tcp": {}},
        "Labels": {"x": "y"},
    }
    with tarfile.open(fileobj=io.BytesIO(layer)) as layer_tar:
        names = layer_tar.getnames()
        assert names == sorted(names)
        hello = layer_tar.getmember("bin/hello")
        assert hello.mode & 0o111 and hello.uname == ""
        assert layer_tar.getmember("etc/link").linkname == "/bin/hello"


def test_oci_archive_is_deterministic(rootfs: Path, tmp_path: Path) -> None:
    layer = tmp_path / "layer.tar"
    oci.tar_directory(rootfs, layer)
    first = oci.write_archive(rootfs, oci.ImageConfig(), REFERENCE, tmp_path / "a.oci.tar")
    second = oci.write_archive(rootfs, oci.ImageConfig(), REFERENCE, tmp_path / "b.oci.tar")
    from_tar = oci.write_archive(layer, oci.ImageConfig(), REFERENCE, tmp_path / "c.oci.tar")
    assert first == second == from_tar, "same tree, same image, whether given as a directory or a tar"
    assert (tmp_path / "a.oci.tar").read_bytes() == (tmp_path / "b.oci.tar").read_bytes()


def test_catalog_names_are_our_own() -> None:
    assert [i.name for i in catalog.IMAGES] == [
        "pause",
        "mysql-standin",
        "wordpress-standin",
        "coredns",
        "postgres-standin",
        "medusa",
        "traefik",
    ]
    for image in catalog.IMAGES:
        assert image.reference.startswith("localhost/storestack/"), image.reference
        assert ":" in image.reference.removeprefix("localhost/storestack/"), "pinned by tag"
        assert image.recipe.is_dir() and (image.recipe / "recipe.json").is_file()
        image.config()  # the recipe's config parses
    assert catalog.MYSQL.reference == "localhost/storestack/mysql-standin:11.8-trixie"
    assert catalog.WORDPRESS.reference == "localhost/storestack/wordpress-standin:6.8-php8.4-trixie"
    assert "mariadb-server" in catalog.MYSQL.packages()
    assert catalog.MEDUSA.reference == "localhost/storestack/medusa:2.21.2-node20-trixie"
    assert catalog.POSTGRES.reference == "localhost/storestack/postgres-standin:17-trixie"


def test_archives_lists_only_built_images(tmp_path: Path) -> None:
    assert catalog.archives(tmp_path) == []
    built = catalog.PAUSE.archive(tmp_path)
    built.parent.mkdir(parents=True)
    built.write_bytes(b"")
    assert catalog.archives(tmp_path) == [(catalog.PAUSE.reference, built)]


def test_trixie_sources_keep_the_hosts_mirror_and_key(tmp_path: Path) -> None:
    host = tmp_path / "debian.sources"
    host.write_text(
        "Types: deb\n# comment\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\nSigned-By: /k.gpg\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
        "Components: main\nSigned-By: /k.gpg\n"
    )
    text = trixie_sources(host)
    assert "Suites: trixie trixie-updates" in text
    assert "Suites: trixie-security" in text
    assert "bookworm" not in text
    assert text.count("Signed-By: /k.gpg") == 2
    assert "URIs: http://mirror.example/debian-security" in text
