"""``storestack images``: build the project's images (the Medusa server, the stand-ins) as OCI
archives, list them, and copy one out for a cluster to load or a registry to take.

Registered on ``api.cli``'s app. The builds are ``images.build``'s (cached in the tool cache, skipped
when fresh); ``build NAME --output FILE`` copies the archive out. Loading it is the cluster's own
tool (``kind load image-archive``, ``minikube image load``, ``k3s ctr images import``) and pushing it a
standard one (``skopeo copy oci-archive:FILE docker://REGISTRY/...``): see the README.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli_common import err, out
from images import build as builder
from images.catalog import IMAGES, by_name
from toolchain.pins import tools_dir

images_app = typer.Typer(help="The project's images (OCI archives).", no_args_is_help=True)


@images_app.command("build")
def build(
    names: Annotated[list[str], typer.Argument(help=f"images to build: {', '.join(i.name for i in IMAGES)}")],
    output: Annotated[
        Path | None,
        typer.Option(help="copy the archive here (one image only); default: leave it in the cache"),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="rebuild even when the archive is up to date")
    ] = False,
) -> None:
    """Build images into the tool cache (needs root: mmdebstrap and chroot)."""
    try:
        images = [by_name(name) for name in names]
    except KeyError as exc:
        err.print(f"error: {exc.args[0]}", markup=False)
        raise typer.Exit(2) from None
    if output is not None and len(images) != 1:
        err.print("error: --output takes one image", markup=False)
        raise typer.Exit(2)
    code = builder.main([*names, *(["--force"] if force else [])])
    if code != 0:
        raise typer.Exit(code)
    for image in images:
        archive = image.archive(tools_dir())
        if output is not None:
            shutil.copyfile(archive, output)
            archive = output
        size = archive.stat().st_size / 2**20
        out.print(f"{image.reference}: {archive} ({size:.0f} MiB)", markup=False)


@images_app.command("list")
def list_images() -> None:
    """The images, their references and whether their archive is built."""
    table = Table("NAME", "REFERENCE", "ARCHIVE")
    for image in IMAGES:
        archive = image.archive(tools_dir())
        shown = f"{archive} ({archive.stat().st_size / 2**20:.0f} MiB)" if archive.is_file() else "not built"
        table.add_row(image.name, image.reference, shown)
    out.print(table)
