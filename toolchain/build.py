"""Build Storestack's real toolchain from pinned Go modules into a cache outside the clone.

Called by the README's setup command (``python -m toolchain.build``) and by CI. It needs only
Python's standard library and a Go toolchain, because it runs before anything else is installed.

Every binary is built from the Go module proxy (no release downloads): the module is copied out of
the module cache into a writable tree, its relative ``replace`` lines (which point into the
upstream monorepo and are absent from the module zip) are rewritten to the matching released
modules, generated files are produced, and ``go build`` stamps the version the way the upstream
release does. A binary whose stamp file matches its pin is skipped, so a warm run takes seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from toolchain.pins import (
    COREDNS_VERSION,
    ETCD_VERSION,
    HELM_VERSION,
    KUBE_ROUTER_DEPENDENCIES,
    KUBE_ROUTER_VERSION,
    KUBERNETES_VERSION,
    KWOK_VERSION,
    LOCAL_PATH_VERSION,
    PROVIDER_MODULE_VERSION,
    PROVIDER_SDK_VERSION,
    PROVIDER_VERSION,
    PULUMI_VERSION,
    TRAEFIK_VERSION,
    VERSITYGW_VERSION,
    tools_dir,
)


class BuildError(RuntimeError):
    """A binary could not be built; the message names it and says why."""


@dataclasses.dataclass(frozen=True)
class Target:
    """One group of binaries built from one Go module at one version."""

    name: str
    module: str
    version: str
    packages: dict[str, str]  # output binary name -> package path relative to the module root
    replace_version: Callable[[str], str | None]  # module path -> version for a relative replace
    ldflags: tuple[str, ...] = ()
    tags: str = ""
    prepare: Callable[[Path], None] | None = None
    upgrades: tuple[str, ...] = ()  # module@version: dependencies raised (go get) before building

    def stamp(self) -> str:
        """A fingerprint of everything that decides the output; a change rebuilds."""
        parts = [self.module, self.version, sorted(self.packages.items()), self.ldflags, self.tags]
        text = json.dumps([*parts, list(self.upgrades)] if self.upgrades else parts)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _k8s_staging(path: str) -> str | None:
    # k8s.io/kubernetes requires every staging module at v0.0.0 and replaces it with ./staging/...
    minor_patch = KUBERNETES_VERSION.removeprefix("v1.")
    return f"v0.{minor_patch}" if path.startswith("k8s.io/") else None


def _k8s_ldflags() -> tuple[str, ...]:
    major, minor = KUBERNETES_VERSION.removeprefix("v").split(".")[:2]
    flags = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={KUBERNETES_VERSION}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.buildDate=1970-01-01T00:00:00Z",
        ]
    return tuple(flags)


def _provider_embeds(src: Path) -> None:
    """Produce the files the provider's main.go embeds; upstream makes them with ``go generate``.

    Same result as its generate.go: the committed schema with ``version`` set, and the
    terraform mapping, both compact JSON.
    """
    cmd = src / "cmd" / "pulumi-resource-kubernetes"
    schema = json.loads((cmd / "schema.json").read_text())
    schema["version"] = PROVIDER_VERSION.removeprefix("v")
    (cmd / "schema-embed.json").write_text(json.dumps(schema, separators=(",", ":")))
    mapping = json.loads((cmd / "terraform-mapping.json").read_text())
    (cmd / "terraform-mapping-embed.json").write_text(json.dumps(mapping, separators=(",", ":")))


def _same_release(version: str) -> Callable[[str], str | None]:
    return lambda _path: version


TARGETS: tuple[Target, ...] = (
    Target(
        name="pulumi",
        module="github.com/pulumi/pulumi/pkg/v3",
        version=PULUMI_VERSION,
        packages={"pulumi": "./cmd/pulumi"},
        replace_version=_same_release(PULUMI_VERSION),
        ldflags=(f"-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version={PULUMI_VERSION}",),
        tags="osusergo,grpcnotrace",
    ),
    Target(
        name="etcd",
        module="go.etcd.io/etcd/server/v3",
        version=ETCD_VERSION,
        packages={"etcd": "."},
        replace_version=_same_release(ETCD_VERSION),
    ),
    Target(
        name="kubernetes",
        module="k8s.io/kubernetes",
        version=KUBERNETES_VERSION,
        packages={
            "kube-apiserver": "./cmd/kube-apiserver",
            "kube-controller-manager": "./cmd/kube-controller-manager",
            "kube-scheduler": "./cmd/kube-scheduler",
            "kubectl": "./cmd/kubectl",
            "kubelet": "./cmd/kubelet",
            "kube-proxy": "./cmd/kube-proxy",
        },
        replace_version=_k8s_staging,
        ldflags=_k8s_ldflags(),
    ),
    Target(
        name="kwok",
        module="sigs.k8s.io/kwok",
        version=KWOK_VERSION,
        packages={"kwok": "./cmd/kwok", "kwokctl": "./cmd/kwokctl"},
        replace_version=_same_release(KWOK_VERSION),
        ldflags=(f"-X sigs.k8s.io/kwok/pkg/consts.Version={KWOK_VERSION.removeprefix('v')}",),
    ),
    Target(
        name="pulumi-resource-kubernetes",
        module="github.com/pulumi/pulumi-kubernetes/provider/v4",
        version=PROVIDER_MODULE_VERSION,
        packages={"pulumi-resource-kubernetes": "./cmd/pulumi-resource-kubernetes"},
        replace_version=lambda path: PROVIDER_SDK_VERSION if "pulumi-kubernetes/sdk" in path else None,
        ldflags=(
            "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version="
            + PROVIDER_VERSION.removeprefix("v"),
        ),
        prepare=_provider_embeds,
    ),
    Target(
        name="coredns",
        module="github.com/coredns/coredns",
        version=COREDNS_VERSION,
        packages={"coredns": "."},
        replace_version=_same_release(COREDNS_VERSION),
        ldflags=(f"-X github.com/coredns/coredns/coremain.GitCommit={COREDNS_VERSION}",),
    ),
    Target(
        name="local-path-provisioner",
        module="github.com/rancher/local-path-provisioner",
        version=LOCAL_PATH_VERSION,
        packages={"local-path-provisioner": "."},
        replace_version=_same_release(LOCAL_PATH_VERSION),
    ),
    Target(
        name="traefik",
        module="github.com/traefik/traefik/v3",
        version=TRAEFIK_VERSION,
        packages={"traefik": "./cmd/traefik"},
        replace_version=_same_release(TRAEFIK_VERSION),
        ldflags=(f"-X github.com/traefik/traefik/v3/pkg/version.Version={TRAEFIK_VERSION[1:]}",),
    ),
    Target(
        name="kube-router",
        module="github.com/cloudnativelabs/kube-router/v2",
        version=KUBE_ROUTER_VERSION,
        packages={"kube-router": "./cmd/kube-router"},
        replace_version=_same_release(KUBE_ROUTER_VERSION),
        ldflags=(f"-X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version={KUBE_ROUTER_VERSION}",),
        upgrades=KUBE_ROUTER_DEPENDENCIES,
    ),
    Target(
        name="versitygw",
        module="github.com/versity/versitygw",
        version=VERSITYGW_VERSION,
        packages={"versitygw": "./cmd/versitygw"},
        replace_version=_same_release(VERSITYGW_VERSION),
        ldflags=(f"-X main.Version={VERSITYGW_VERSION}",),
    ),
)

OPTIONAL_TARGETS: tuple[Target, ...] = (
    # Built only when named (``python -m toolchain.build helm``): a benchmark baseline, never
    # something Storestack runs.
    Target(
        name="helm",
        module="helm.sh/helm/v3",
        version=HELM_VERSION,
        packages={"helm": "./cmd/helm"},
        replace_version=lambda _path: None,
        ldflags=(f"-X helm.sh/helm/v3/internal/version.version={HELM_VERSION}",),
    ),
)


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GOTOOLCHAIN="local", CGO_ENABLED="0", GOFLAGS="-mod=mod", GOWORK="off")
    return env


def _run(args: list[str], *, cwd: Path, what: str, log: Path) -> str:
    with log.open("a") as fh:
        fh.write(f"$ {' '.join(args)}\n")
        fh.flush()
        proc = subprocess.run(
            args, cwd=cwd, env=_go_env(), stdout=subprocess.PIPE, stderr=fh, text=True, check=False
        )
    if proc.returncode != 0:
        tail = log.read_text().splitlines()[-15:]
        raise BuildError(f"{what} failed (exit {proc.returncode}); last lines of {log}:\n" + "\n".join(tail))
    return proc.stdout


def _copy_module(target: Target, work: Path, log: Path) -> Path:
    out = _run(
        ["go", "mod", "download", "-json", f"{target.module}@{target.version}"],
        cwd=work,
        what=f"downloading {target.module}@{target.version}",
        log=log,
    )
    info = json.loads(out)
    if info.get("Error"):
        raise BuildError(
            f"{target.name}: the module proxy refused {target.module}@{target.version}: {info['Error']}"
        )
    src = work / "src"
    if src.exists():
        shutil.rmtree(src, onerror=_make_writable_and_retry)
    shutil.copytree(info["Dir"], src)
    for path in [src, *src.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | stat.S_IWUSR)
    return src


def _make_writable_and_retry(func, path, _exc):  # type: ignore[no-untyped-def]
    Path(path).chmod(0o700)
    func(path)


def _rewrite_relative_replaces(target: Target, src: Path, log: Path) -> None:
    mod = json.loads(_run(["go", "mod", "edit", "-json"], cwd=src, what="reading go.mod", log=log))
    required = {r["Path"] for r in mod.get("Require") or []}
    edits: list[str] = []
    for rep in mod.get("Replace") or []:
        old, new = rep["Old"]["Path"], rep["New"]["Path"]
        if not new.startswith("."):
            continue  # a replace to another module (e.g. a fork) is kept as upstream has it
        edits.append(f"-dropreplace={old}")
        version = target.replace_version(old) if old in required else None
        if version is not None:
            edits += [f"-replace={old}={old}@{version}"]
    if edits:
        _run(["go", "mod", "edit", *edits], cwd=src, what="rewriting go.mod replace lines", log=log)


def build_target(target: Target, *, root: Path, force: bool = False) -> bool:
    """Build one target into ``root/bin``; return False when it was already built."""
    bin_dir = root / "bin"
    stamp_file = root / "stamps" / target.name
    outputs = [bin_dir / name for name in target.packages]
    built = stamp_file.exists() and stamp_file.read_text() == target.stamp()
    if not force and built and all(o.exists() for o in outputs):
        print(f"[toolchain] {target.name} {target.version}: already built, skipped", flush=True)
        return False
    work = root / "build" / target.name
    work.mkdir(parents=True, exist_ok=True)
    log = work / "build.log"
    log.write_text("")
    started = time.monotonic()
    print(f"[toolchain] {target.name} {target.version}: fetching module", flush=True)
    src = _copy_module(target, work, log)
    _rewrite_relative_replaces(target, src, log)
    if target.upgrades:
        _run(["go", "get", *target.upgrades], cwd=src, what=f"raising {target.name}'s dependencies", log=log)
    if target.prepare is not None:
        target.prepare(src)
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, package in target.packages.items():
        print(f"[toolchain] {target.name}: building {name} (log: {log})", flush=True)
        t0 = time.monotonic()
        args = ["go", "build", "-trimpath", "-o", str(bin_dir / f".{name}.new")]
        if target.tags:
            args += ["-tags", target.tags]
        args += ["-ldflags", " ".join(("-s", "-w", *target.ldflags)), package]
        try:
            _run(args, cwd=src, what=f"building {name} from {target.module}@{target.version}", log=log)
        except BuildError as exc:
            raise BuildError(f"{name}: {exc}") from None
        (bin_dir / f".{name}.new").replace(bin_dir / name)
        print(f"[toolchain] {target.name}: {name} built in {time.monotonic() - t0:.0f}s", flush=True)
    stamp_file.parent.mkdir(parents=True, exist_ok=True)
    stamp_file.write_text(target.stamp())
    shutil.rmtree(src, onerror=_make_writable_and_retry)
    print(
        f"[toolchain] {target.name} {target.version}: done in {time.monotonic() - started:.0f}s", flush=True
    )
    return True


MIN_PULUMI = (3, 181, 0)  # inline refresh/destroy in the Automation API need at least this CLI


def ambient_pulumi(root: Path) -> Path | None:
    """A compatible ``pulumi`` already on PATH (an official install), outside the tool cache."""
    found = shutil.which("pulumi")
    if found is None or Path(found).resolve().parent == (root / "bin").resolve():
        return None
    proc = subprocess.run([found, "version"], capture_output=True, text=True, check=False)
    raw = proc.stdout.strip().removeprefix("v").split("-")[0]
    try:
        version = tuple(int(part) for part in raw.split("."))
    except ValueError:
        return None
    return Path(found) if proc.returncode == 0 and version >= MIN_PULUMI else None


def pulumi_binary(root: Path) -> Path:
    built = root / "bin" / "pulumi"
    return built if built.exists() else ambient_pulumi(root) or built


def install_provider_plugin(root: Path) -> None:
    """Register the built provider in the tool cache's PULUMI_HOME so nothing is ever downloaded."""
    version = PROVIDER_VERSION.removeprefix("v")
    home = root / "pulumi-home"
    plugin_dir = home / "plugins" / f"resource-kubernetes-v{version}"
    binary = root / "bin" / "pulumi-resource-kubernetes"
    if (plugin_dir / "pulumi-resource-kubernetes").exists() and (
        (plugin_dir / "pulumi-resource-kubernetes").stat().st_mtime >= binary.stat().st_mtime
    ):
        return
    env = _go_env()
    env.update(PULUMI_HOME=str(home), PULUMI_SKIP_UPDATE_CHECK="true")
    proc = subprocess.run(
        [
            str(pulumi_binary(root)),
            "plugin",
            "install",
            "resource",
            "kubernetes",
            f"v{version}",
            "--file",
            str(binary),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise BuildError(f"registering pulumi-resource-kubernetes v{version} failed: {proc.stderr.strip()}")
    print(f"[toolchain] provider plugin kubernetes v{version} registered in {home}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "targets", nargs="*", help="targets to build (default: all but the optional ones, such as helm)"
    )
    parser.add_argument("--force", action="store_true", help="rebuild even when already built")
    args = parser.parse_args(argv)
    if shutil.which("go") is None:
        print("[toolchain] error: the 'go' command is not on PATH; install Go 1.26 first", file=sys.stderr)
        return 2
    root = tools_dir()
    names = {t.name for t in (*TARGETS, *OPTIONAL_TARGETS)}
    unknown = set(args.targets) - names
    if unknown:
        parser.error(f"unknown target(s) {sorted(unknown)}; choose from {sorted(names)}")
    started = time.monotonic()
    print(f"[toolchain] tool cache: {root}", flush=True)
    try:
        for target in (*TARGETS, *OPTIONAL_TARGETS):
            wanted = target.name in args.targets if args.targets else target in TARGETS
            if not wanted:
                continue
            if target.name == "pulumi" and not args.force and (found := ambient_pulumi(root)):
                print(
                    f"[toolchain] pulumi: using the compatible CLI on PATH ({found}), not building",
                    flush=True,
                )
                continue
            build_target(target, root=root, force=args.force)
        if pulumi_binary(root).exists() and (root / "bin" / "pulumi-resource-kubernetes").exists():
            install_provider_plugin(root)
    except BuildError as exc:
        print(f"[toolchain] error: {exc}", file=sys.stderr)
        return 1
    print(f"[toolchain] all done in {time.monotonic() - started:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
