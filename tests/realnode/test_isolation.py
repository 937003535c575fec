"""The wall between stores and the customer's path, on the real node, where kube-router's policy
controller enforces the stores' NetworkPolicies and Traefik (as k3s ships it) is the ingress.

Two stores A and B through the API, then connection attempts from inside real pods:
- from A's WordPress: A's MySQL answers, B's MySQL does not, B's WordPress does not;
- from B's WordPress: A's WordPress does not (only the ingress controller reaches a store's web pods);
- from a pod in an unrelated namespace: neither MySQL, nor A's WordPress;
- from a pod with the setup Job's role in A: A's MySQL answers; B's MySQL, A's WordPress and the node
  (a private address, outside the internet egress rule) do not;
- DNS resolves from every store pod; each store answers through the ingress by its host name, and
  its Ingress carries the address Traefik published;
- B's policies deleted by hand: the outsider reaches B's MySQL (the wall was the policies); a repair
  (``up``) puts them back and the wall holds again.
Every path's observed result is recorded in ``artifacts/realnode-measurements.json``.
"""

from __future__ import annotations

import json

import pytest

import environments
from tests.live import LiveServer
from tests.realnode import netprobe, probe
from tests.realnode.conftest import record
from toolchain.cluster import SimCluster
from toolchain.node_config import HELPER_IMAGE, INGRESS_ADDRESS, NODE_LABEL, NODE_TAINT
from toolchain.node_ingress import POD_LABELS

pytestmark = pytest.mark.cluster

A, B = "walla", "wallb"
NS = {A: f"store-{A}", B: f"store-{B}"}


def _mysql(store: str) -> str:
    return f"mysql.{NS[store]}.svc.cluster.local"


def _web(store: str) -> str:
    return f"wordpress.{NS[store]}.svc.cluster.local"


def _setup_like_pod(cluster: SimCluster, namespace: str) -> netprobe.Target:
    """A pod with the setup Job's labels (role ``setup``) in the store's namespace, for its egress
    rules (the realnode environment runs no WooCommerce setup Job: no WP-CLI here)."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "setup-probe",
            "namespace": namespace,
            "labels": {"storestack.io/role": "setup", "app.kubernetes.io/name": "setup-probe"},
        },
        "spec": {
            "nodeSelector": {NODE_LABEL[0]: NODE_LABEL[1]},
            "tolerations": [{"key": NODE_TAINT[0], "operator": "Equal", "value": NODE_TAINT[1]}],
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 1,
            "securityContext": {
                "runAsUser": 65534,
                "runAsNonRoot": True,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "probe",
                    "image": HELPER_IMAGE,
                    "imagePullPolicy": "Never",
                    "command": ["sleep", "3600"],
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                }
            ],
        },
    }
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(pod))
    cluster.kubectl(
        "wait", "-n", namespace, "pod/setup-probe", "--for=condition=Ready", "--timeout=120s", timeout=130
    )
    return ("pod/setup-probe", "probe")


def test_stores_are_walled_off_and_reached_only_through_the_ingress(
    real_server: LiveServer, real_cluster: SimCluster
) -> None:
    cluster = real_cluster
    with real_server.client() as api:
        for store in (A, B):
            assert api.post("/stores", json={"name": store, "engine": "woocommerce"}).status_code == 202
        for store in (A, B):
            real_server.wait_status(store, "ready", timeout=600)
    observed: dict[str, str] = {}

    def path(name: str, namespace: str, target: netprobe.Target, host: str, port: int, want: str) -> None:
        answer = netprobe.tcp(cluster, namespace, target, host, port)
        observed[name] = answer
        assert answer == want, f"{name}: {answer}, expected {want}"

    try:
        # The customer's path: each store through Traefik by its host name; the Ingress says where.
        # Traefik publishes the address when it reads the Ingress and routes it a moment later (its
        # configuration is applied in batches), so the first answers may still be its 404.
        for store in (A, B):
            host = f"{store}.realnode.storestack.test"
            page, waited = probe.wait_routed(host, "/wp-login.php")
            observed[f"host -> ingress -> {store} web"] = f"{page.status_code} ({waited:.1f} s after ready)"
            assert page.status_code in (200, 302), page.text[:200]
            ingress = probe.kget(cluster, "ingress", "store", "-n", NS[store])
            assert ingress["spec"]["ingressClassName"] == "traefik"
            assert ingress["status"]["loadBalancer"]["ingress"] == [{"ip": INGRESS_ADDRESS}]

        web_a = web_b = ("deploy/wordpress", "wordpress")
        path("A web -> A mysql", NS[A], web_a, _mysql(A), 3306, "open")
        path("A web -> B mysql", NS[A], web_a, _mysql(B), 3306, "closed")
        path("A web -> B web", NS[A], web_a, _web(B), 80, "closed")
        path("B web -> A web", NS[B], web_b, _web(A), 80, "closed")
        path("B web -> B mysql", NS[B], web_b, _mysql(B), 3306, "open")

        outsider = netprobe.start_outsider(cluster, HELPER_IMAGE)
        out_ns = netprobe.OUTSIDER_NAMESPACE
        path("outsider -> A mysql", out_ns, outsider, _mysql(A), 3306, "closed")
        path("outsider -> B mysql", out_ns, outsider, _mysql(B), 3306, "closed")
        path("outsider -> A web", out_ns, outsider, _web(A), 80, "closed")

        setup = _setup_like_pod(cluster, NS[A])
        path("A setup -> A mysql", NS[A], setup, _mysql(A), 3306, "open")
        path("A setup -> B mysql", NS[A], setup, _mysql(B), 3306, "closed")
        path("A setup -> A web", NS[A], setup, _web(A), 80, "closed")
        path("A setup -> node (private address)", NS[A], setup, INGRESS_ADDRESS, 80, "closed")

        for store in (A, B):
            for target in (("deploy/wordpress", "wordpress"), ("pod/mysql-0", "mysql")):
                ok = netprobe.resolves(cluster, NS[store], target, _mysql(store))
                observed[f"DNS from {store} {target[0]}"] = "resolves" if ok else "fails"
                assert ok, f"DNS from {store} {target[0]}"

        # A policy deleted by hand: the wall was the policies, and a repair puts it back.
        for policy in ("default-deny", "allow-database-ingress"):
            cluster.kubectl("delete", "networkpolicy", policy, "-n", NS[B])
        opened = netprobe.wait_for(lambda: netprobe.tcp(cluster, out_ns, outsider, _mysql(B), 3306), "open")
        observed["outsider -> B mysql, B's policies deleted"] = opened
        assert opened == "open", "deleting the policies opened nothing: was it the policies that held?"
        with real_server.client() as api:
            assert api.post(f"/stores/{B}/repair").status_code == 202
            real_server.wait_status(B, "ready", timeout=600)
        names = cluster.kubectl("get", "networkpolicy", "-n", NS[B], "-o", "name")
        assert "networkpolicy.networking.k8s.io/default-deny" in names.split()
        closed = netprobe.wait_for(lambda: netprobe.tcp(cluster, out_ns, outsider, _mysql(B), 3306), "closed")
        observed["outsider -> B mysql, after repair"] = closed
        assert closed == "closed"
        path("A web -> A mysql, after B's repair", NS[A], web_a, _mysql(A), 3306, "open")
    finally:
        record("isolation_paths", observed)
        netprobe.stop_outsider(cluster)
        with real_server.client() as api:
            for store in (A, B):
                api.delete(f"/stores/{store}")
            for store in (A, B):
                real_server.wait_status(store, "deleted", timeout=600)


def test_the_environments_traefik_selector_matches_the_running_controller(real_cluster: SimCluster) -> None:
    """prod's and realnode's controller selector (the source the stores' policies let in) selects the
    Traefik pod that runs on the node, whose labels are k3s's."""
    pods = probe.kget(real_cluster, "pods", "-n", "kube-system", "-l", "app.kubernetes.io/name=traefik")[
        "items"
    ]
    assert len(pods) == 1 and pods[0]["status"]["phase"] == "Running", pods
    labels = pods[0]["metadata"]["labels"]
    assert POD_LABELS.items() <= labels.items()
    namespace = probe.kget(real_cluster, "namespace", "kube-system")["metadata"]["labels"]
    for name in ("prod", "realnode"):
        ingress = environments.load(name).ingress
        assert ingress.class_name == "traefik"
        assert ingress.controller_namespace_labels.items() <= namespace.items(), name
        assert ingress.controller_pod_labels and ingress.controller_pod_labels.items() <= labels.items(), name
