"""What the real-node tests look at on the node itself: pods' containers, cgroups, processes, volumes,
and a store reached as a customer does: through the ingress controller (Traefik at the node's
address) by the store's host name.

Used by ``tests/realnode``; everything here reads the real node (containerd through ``ctr``, the
kernel's ``/proc`` and ``/sys/fs/cgroup``) or talks HTTP to the real WordPress.
"""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.live import LiveServer
from toolchain.cluster import SimCluster
from toolchain.node_config import INGRESS_ADDRESS, INGRESS_PORT

NONCE_RE = re.compile(r'name="_wpnonce" value="([0-9a-f]+)"')


def kget(cluster: SimCluster, *args: str) -> Any:
    return json.loads(cluster.kubectl("get", *args, "-o", "json"))


APP_PODS = "storestack.io/role in (web,database)"
"""The store's long-running pods (not its setup or cron runs, which come and go)."""


def app_pods(cluster: SimCluster, namespace: str, role: str | None = None) -> list[dict[str, Any]]:
    """The running app pods (of one role: web, database), not those being replaced."""
    selector = f"storestack.io/role={role}" if role else APP_PODS
    pods: list[dict[str, Any]] = kget(cluster, "pods", "-n", namespace, "-l", selector)["items"]
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def secret_values(cluster: SimCluster, namespace: str) -> list[str]:
    """Every value of every Secret in the namespace, decoded (what must never leak)."""
    values = []
    for item in kget(cluster, "secrets", "-n", namespace)["items"]:
        for raw in (item.get("data") or {}).values():
            value = base64.b64decode(raw).decode(errors="replace")
            if len(value) >= 8:
                values.append(value)
    return values


@dataclass(frozen=True)
class Container:
    pod: str
    name: str
    container_id: str
    memory_limit: int | None  # bytes, from the pod spec


def containers(cluster: SimCluster, namespace: str) -> list[Container]:
    found = []
    for pod in app_pods(cluster, namespace):
        limits = {
            c["name"]: c.get("resources", {}).get("limits", {}).get("memory")
            for c in pod["spec"]["containers"]
        }
        for status in pod["status"].get("containerStatuses", []):
            if "running" not in status.get("state", {}):
                continue
            found.append(
                Container(
                    pod=pod["metadata"]["name"],
                    name=status["name"],
                    container_id=status["containerID"].removeprefix("containerd://"),
                    memory_limit=quantity_bytes(limits[status["name"]])
                    if limits.get(status["name"])
                    else None,
                )
            )
    return found


def quantity_bytes(quantity: str) -> int:
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return int(quantity.removesuffix(suffix)) * factor
    return int(quantity)


def task_pid(cluster: SimCluster, container_id: str) -> int:
    for line in cluster.node.ctr("tasks", "ls").splitlines()[1:]:
        words = line.split()
        if words and words[0] == container_id:
            return int(words[1])
    raise AssertionError(f"container {container_id} has no running task in containerd")


def memory_cgroup(pid: int) -> Path:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return Path("/sys/fs/cgroup/memory") / path.lstrip("/")
    raise AssertionError(f"process {pid} is in no memory cgroup")


def memory_limits_mib(cluster: SimCluster, namespace: str) -> dict[str, int]:
    """Each running container of the namespace's memory limit as its cgroup enforces it, in MiB."""
    return {
        c.name: int((memory_cgroup(task_pid(cluster, c.container_id)) / "memory.limit_in_bytes").read_text())
        // 2**20
        for c in containers(cluster, namespace)
    }


def claim_uids(cluster: SimCluster, namespace: str) -> dict[str, str]:
    """The namespace's PersistentVolumeClaims by name, each with its uid (a replaced claim has a new one)."""
    return {
        pvc["metadata"]["name"]: pvc["metadata"]["uid"]
        for pvc in kget(cluster, "pvc", "-n", namespace)["items"]
    }


def cgroup_pids(cgroup: Path) -> list[int]:
    pids = []
    for procs in [cgroup / "cgroup.procs", *cgroup.rglob("cgroup.procs")]:
        pids += [int(p) for p in procs.read_text().split()]
    return sorted(set(pids))


def cmdlines(pids: list[int]) -> list[str]:
    lines = []
    for pid in pids:
        try:
            lines.append(
                Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            )
        except OSError:
            continue  # exited meanwhile
    return lines


def store_containers_on_node(cluster: SimCluster, namespace: str) -> list[str]:
    """containerd's containers (pod sandboxes included) that belong to the namespace."""
    out = cluster.node.ctr("containers", "ls", "-q", f'labels."io.kubernetes.pod.namespace"=={namespace}')
    return out.split()


def wait_gone_from_node(cluster: SimCluster, namespace: str, paths: list[str], timeout: float = 150) -> dict:  # type: ignore[type-arg]
    """Wait until the node holds no container of the namespace and none of ``paths``; what is left.

    Processes stop with the pods; the kubelet's garbage collection (every minute) then removes the
    stopped containers and sandboxes, and local-path's helper pod the volume directories.
    """
    deadline = time.monotonic() + timeout
    while True:
        left = {
            "containers": store_containers_on_node(cluster, namespace),
            "paths": [p for p in paths if Path(p).exists()],
        }
        if not any(left.values()) or time.monotonic() > deadline:
            return left
        time.sleep(2)


def through_ingress(host: str, *, timeout: float = 30) -> httpx.Client:
    """An HTTP client for ``http://<host>/`` connected to the ingress controller (the store's host name
    has no DNS record: the connection is mapped to the node's address, as curl --resolve does)."""
    return httpx.Client(
        base_url=f"http://{INGRESS_ADDRESS}:{INGRESS_PORT}",
        headers={"Host": host},
        timeout=timeout,
        follow_redirects=False,
    )


def wait_routed(host: str, path: str, *, timeout: float = 30) -> tuple[httpx.Response, float]:
    """GET ``path`` through the ingress until the controller routes ``host`` (no more 404 of its
    own); the last answer and the seconds it took."""
    start = time.monotonic()
    with through_ingress(host) as client:
        while True:
            answer = client.get(path)
            if answer.status_code != 404 or time.monotonic() - start > timeout:
                return answer, time.monotonic() - start
            time.sleep(0.2)


class WordPress:
    """HTTP to a store's WordPress through the ingress, with the store's host name."""

    def __init__(self, host: str) -> None:
        self.client = through_ingress(host)

    def close(self) -> None:
        self.client.close()

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def wait_answering(self, timeout: float = 120) -> httpx.Response:
        """The first answer of WordPress itself (not the ingress controller's 404 before it routes
        the store, nor its 502/503 while the pod is not ready)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                answer = self.client.get("/wp-login.php")
                if answer.status_code not in (404, 502, 503) or time.monotonic() > deadline:
                    return answer
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(1)

    def install(self, *, title: str, user: str, password: str, email: str) -> httpx.Response:
        """What a first visitor can do: WordPress's web installer."""
        return self.client.post(
            "/wp-admin/install.php?step=2",
            data={
                "weblog_title": title,
                "user_name": user,
                "admin_password": password,
                "admin_password2": password,
                "pw_weak": "1",
                "admin_email": email,
                "blog_public": "0",
                "language": "",
            },
        )

    def try_login(self, user: str, password: str) -> httpx.Response:
        """Submit the login form as a browser does: a redirect to /wp-admin/ when it is accepted."""
        self.client.cookies.set("wordpress_test_cookie", "WP Cookie check")
        return self.client.post(
            "/wp-login.php",
            data={
                "log": user,
                "pwd": password,
                "wp-submit": "Log In",
                "redirect_to": "/wp-admin/",
                "testcookie": "1",
            },
        )

    def login(self, user: str, password: str) -> None:
        response = self.try_login(user, password)
        assert response.status_code == 302 and "/wp-admin" in response.headers["location"], response.text[
            :500
        ]

    def admin_form(self, page: str, fields: dict[str, str]) -> httpx.Response:
        """Submit an admin settings page the way its form does (with the page's own nonce)."""
        form = self.client.get(f"/wp-admin/{page}")
        assert form.status_code == 200, (page, form.status_code)
        nonce = NONCE_RE.search(form.text)
        assert nonce, f"no nonce on {page}"
        return self.client.post(
            f"/wp-admin/{page}",
            data={"_wpnonce": nonce.group(1), "_wp_http_referer": f"/wp-admin/{page}", **fields},
        )

    def create_post(self, title: str, content: str) -> int:
        """Publish a post through the REST API as the logged-in admin (cookie + REST nonce); by its
        ``?rest_route=`` form, which works with plain permalinks too."""
        nonce = self.client.get("/wp-admin/admin-ajax.php", params={"action": "rest-nonce"})
        assert nonce.status_code == 200 and nonce.text.strip(), nonce.text[:200]
        response = self.client.post(
            "/",
            params={"rest_route": "/wp/v2/posts"},
            headers={"X-WP-Nonce": nonce.text.strip()},
            json={"title": title, "content": content, "status": "publish"},
        )
        assert response.status_code == 201, response.text[:500]
        return int(response.json()["id"])


def _claimed_volumes(cluster: SimCluster, namespace: str) -> dict[str, str]:
    """PersistentVolumes bound to the namespace's claims: name -> directory on the node."""
    return {
        pv["metadata"]["name"]: pv["spec"]["local"]["path"]
        if "local" in pv["spec"]
        else pv["spec"]["hostPath"]["path"]
        for pv in kget(cluster, "pv")["items"]
        if pv["spec"].get("claimRef", {}).get("namespace") == namespace
    }


def delete_leaves_nothing(server: LiveServer, cluster: SimCluster, store: str, *, volumes: int) -> None:
    """DELETE the store through the API: no task, container, sandbox, pod directory, volume directory
    or PersistentVolume of it is left on the node (waiting for the kubelet's garbage collection)."""
    namespace = f"store-{store}"
    paths = list(_claimed_volumes(cluster, namespace).values())
    assert len(paths) == volumes and all(str(cluster.node.layout.volumes) in v for v in paths), paths
    pod_uids = {p["metadata"]["uid"] for p in kget(cluster, "pods", "-n", namespace)["items"]}
    containers_before = store_containers_on_node(cluster, namespace)
    assert len(containers_before) >= 4  # two pod sandboxes and their containers
    with server.client() as api:
        assert api.delete(f"/stores/{store}").status_code == 202
    server.wait_status(store, "deleted", timeout=600)
    assert not set(cluster.node.ctr("tasks", "ls", "-q").split()) & set(containers_before)  # none runs
    left = {
        **wait_gone_from_node(cluster, namespace, paths),
        "pod_dirs": [u for u in pod_uids if (cluster.node.layout.kubelet_root / "pods" / u).exists()],
        "pvs": sorted(_claimed_volumes(cluster, namespace)),
    }
    assert left == {"containers": [], "paths": [], "pod_dirs": [], "pvs": []}, json.dumps(left)


def no_secret_anywhere(
    cluster: SimCluster, namespace: str, secret_values: list[str], *, processes: tuple[str, ...]
) -> None:
    """No secret in any pod log of the namespace (finished setup pods included), any running
    container process's argv (``processes`` must be among them: proof the scan saw the store), or
    any event."""
    logs = ""
    for pod in kget(cluster, "pods", "-n", namespace)["items"]:
        for container in pod["spec"]["containers"]:
            logs += cluster.kubectl("logs", "-n", namespace, pod["metadata"]["name"], "-c", container["name"])
    assert len(logs) > 200, f"pod logs look empty: {logs!r}"
    argv: list[str] = []
    for container in containers(cluster, namespace):
        pid = task_pid(cluster, container.container_id)
        argv += cmdlines(cgroup_pids(memory_cgroup(pid)))
    for process in processes:
        assert any(process in a for a in argv), (process, argv)
    events = cluster.kubectl("get", "events", "--all-namespaces", "-o", "json")
    for value in secret_values:
        assert value not in logs, "a secret is in a pod log"
        assert not [a for a in argv if value in a], "a secret is in a container process's argv"
        assert value not in events, "a secret is in a Kubernetes event"


def memory_at_rest(cluster: SimCluster, namespace: str) -> dict[str, dict[str, float]]:
    """Each running container's memory from its cgroup, after checking that the cgroup enforces the
    spec's limit: usage, RSS and page cache, in MiB."""
    usage: dict[str, dict[str, float]] = {}
    for container in containers(cluster, namespace):
        cgroup = memory_cgroup(task_pid(cluster, container.container_id))
        limit = int((cgroup / "memory.limit_in_bytes").read_text())
        assert limit == container.memory_limit, (container, limit)
        stat = dict(line.split() for line in (cgroup / "memory.stat").read_text().splitlines())
        usage[container.name] = {
            "usage_mib": round(int((cgroup / "memory.usage_in_bytes").read_text()) / 2**20, 1),
            "rss_mib": round(int(stat["total_rss"]) / 2**20, 1),
            "cache_mib": round(int(stat["total_cache"]) / 2**20, 1),
            "limit_mib": limit // 2**20,
        }
    return usage


def wait_restarted(
    cluster: SimCluster, namespace: str, old_uids: set[str], *, pods: int = 2, timeout: float = 300
) -> None:
    """Wait until ``pods`` app pods run again, none of them one of ``old_uids``, all Ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = app_pods(cluster, namespace)
        fresh = [p for p in found if p["metadata"]["uid"] not in old_uids]
        ready = [
            p
            for p in fresh
            if any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
        ]
        if len(ready) == pods and len(found) == pods:
            return
        time.sleep(2)
    raise AssertionError(
        f"the restarted pods did not become Ready: {cluster.kubectl('get', 'pods', '-n', namespace)}"
    )
