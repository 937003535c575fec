"""The stand-in images: their references, recipe folders and where their archives land.

Read by ``images.build`` (what to build) and by ``toolchain.node.RealNode``, which calls
``archives(tools_dir())`` to learn which OCI archives exist and ``ctr image import`` them. A recipe
is data in ``images/recipes/<name>/``: ``recipe.json`` (packages, image config), an optional
``files/`` overlay copied into the rootfs and an optional ``customize.sh`` run on the host with the
rootfs as ``$1``. References are names of our own, never an official image's.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Literal

from images.oci import ImageConfig

RECIPES = Path(__file__).resolve().parent / "recipes"
PREFIX = "localhost/storestack/"

Builder = Literal["debian", "go", "binary"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Image:
    """One stand-in image."""

    name: str
    """Short name: the recipe folder and the archive's file name."""
    reference: str
    """The image reference pods use (``localhost/storestack/...``)."""
    builder: Builder
    """``debian``: mmdebstrap + customise; ``go``: a static Go program; ``binary``: a prebuilt tool."""

    @property
    def recipe(self) -> Path:
        """The recipe folder."""
        return RECIPES / self.name

    def recipe_data(self) -> dict[str, Any]:
        """``recipe.json``, parsed."""
        data: dict[str, Any] = json.loads((self.recipe / "recipe.json").read_text())
        return data

    def config(self) -> ImageConfig:
        """The image config from the recipe."""
        return ImageConfig.from_json(self.recipe_data().get("config", {}))

    def packages(self) -> list[str]:
        """The Debian packages (``debian`` builder only)."""
        return [str(p) for p in self.recipe_data().get("packages", [])]

    def archive(self, root: Path) -> Path:
        """The OCI archive under the tool cache ``root``."""
        return images_dir(root) / f"{self.name}.oci.tar"

    def stamp(self, root: Path) -> Path:
        """The stamp file recording what the archive was built from."""
        return images_dir(root) / f"{self.name}.stamp"


IMAGES: tuple[Image, ...] = (
    Image(name="pause", reference=f"{PREFIX}pause:1.0", builder="go"),
    Image(name="mysql-standin", reference=f"{PREFIX}mysql-standin:11.8-trixie", builder="debian"),
    Image(
        name="wordpress-standin", reference=f"{PREFIX}wordpress-standin:6.8-php8.4-trixie", builder="debian"
    ),
    Image(name="coredns", reference=f"{PREFIX}coredns:1.15.0", builder="binary"),
    Image(name="postgres-standin", reference=f"{PREFIX}postgres-standin:17-trixie", builder="debian"),
    Image(name="medusa", reference=f"{PREFIX}medusa:2.21.2-node20-trixie", builder="debian"),
    Image(name="traefik", reference=f"{PREFIX}traefik:3.6.12", builder="binary"),
)

PAUSE, MYSQL, WORDPRESS, COREDNS, POSTGRES, MEDUSA, TRAEFIK = IMAGES


def images_dir(root: Path) -> Path:
    """The image cache under the tool cache ``root`` (``tools_dir()``)."""
    return root / "images"


def by_name(name: str) -> Image:
    """The catalog entry called ``name``."""
    for image in IMAGES:
        if image.name == name:
            return image
    raise KeyError(f"no image {name!r}; known: {', '.join(i.name for i in IMAGES)}")


def archives(root: Path) -> list[tuple[str, Path]]:
    """``(reference, archive)`` for every image whose archive exists under the tool cache ``root``.

    ``root`` is ``toolchain.pins.tools_dir()``. Catalog order (pause first). Import each with
    ``ctr -n k8s.io image import <archive>``.
    """
    return [(i.reference, i.archive(root)) for i in IMAGES if i.archive(root).is_file()]
