"""The pinned versions of every tool Storestack builds, and where the tool cache lives.

One place to bump a version: the build script, the cluster runner and the Pulumi runtime all read
these. ``PROVIDER_VERSION`` must equal the ``pulumi-kubernetes`` version pinned in pyproject.toml,
because the Python SDK asks the engine for exactly that plugin version.
"""

from __future__ import annotations

import os
from pathlib import Path

PULUMI_VERSION = "v3.274.1"
# pulumi-kubernetes never tags provider/v4.x.y, so the provider module is pinned by pseudo-version;
# this commit is the v4.25.0 release.
PROVIDER_VERSION = "v4.25.0"
PROVIDER_MODULE_VERSION = "v4.0.0-20260115033456-f47bc2d6f199"
PROVIDER_SDK_VERSION = "v4.25.0"
KUBERNETES_VERSION = "v1.34.4"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"
COREDNS_VERSION = "v1.15.0"  # the real node's cluster DNS
LOCAL_PATH_VERSION = "v0.0.30"  # the real node's storage (k3s's local-path provisioner)
TRAEFIK_VERSION = "v3.6.12"  # the real node's ingress controller (the version k3s ships)
# The real node's NetworkPolicy engine: kube-router's policy controller alone (what k3s embeds). The
# proxy serves v2.1.0 only; its dependencies with advisories are raised (KUBE_ROUTER_DEPENDENCIES).
KUBE_ROUTER_VERSION = "v2.1.0"
KUBE_ROUTER_DEPENDENCIES = (
    "golang.org/x/net@v0.57.0",
    "google.golang.org/grpc@v1.82.1",
    "google.golang.org/protobuf@v1.36.12",
    "github.com/osrg/gobgp/v3@v3.37.0",
    "github.com/docker/docker@v25.0.13+incompatible",
    "golang.org/x/oauth2@v0.38.0",
)
VERSITYGW_VERSION = "v1.8.0"  # the tests' S3-compatible object store (Pulumi's s3:// backend)
HELM_VERSION = "v3.22.0"  # optional: only the provisioning benchmark's baseline (bench/compare.py)


def tools_dir(override: str | None = None) -> Path:
    """The tool cache: ``STORESTACK_TOOLS_DIR`` if set, else ``~/.cache/storestack/tools``."""
    raw = override or os.environ.get("STORESTACK_TOOLS_DIR") or "~/.cache/storestack/tools"
    return Path(raw).expanduser().resolve()
