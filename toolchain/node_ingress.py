"""The real node's ingress controller: Traefik v3 in kube-system, as k3s ships it.

Used by ``toolchain.node.RealNode.up`` (``kubectl apply -f -``), and by the real-node tests, which
check the environments' controller selectors against the pods this runs. The objects mirror what
k3s's bundled Traefik chart deploys where it matters to a store: the ``traefik`` IngressClass
(controller ``traefik.io/ingress-controller``), the pod labels k3s's Traefik pods carry (its Helm
release ``traefik`` in ``kube-system``), the Kubernetes Ingress provider publishing each Ingress's
address in its status (what Pulumi's Ingress await waits for), and the RBAC that provider needs.

The pod's web entry point (:8000, no capability needed) is published on the node's address at port 80
(a hostPort), so the host reaches every store at ``http://<INGRESS_ADDRESS>/`` with the store's host
name; that address is what each Ingress's ``status.loadBalancer`` says. Plain data; nothing here talks
to a cluster.
"""

from __future__ import annotations

import json

from toolchain.node_config import (
    INGRESS_ADDRESS,
    INGRESS_CLASS,
    INGRESS_PORT,
    NODE_LABEL,
    NODE_TAINT,
    TRAEFIK_IMAGE,
)
from toolchain.node_manifests import pod_kubeconfig, system_account

NAME = "traefik"
NAMESPACE = "kube-system"
CONTROLLER = "traefik.io/ingress-controller"
# What k3s's Traefik pods carry: the chart's selector labels for the release ``traefik`` that k3s's
# helm-controller installs in kube-system (app.kubernetes.io/instance is "<release>-<namespace>").
POD_LABELS = {"app.kubernetes.io/name": "traefik", "app.kubernetes.io/instance": "traefik-kube-system"}
WEB_PORT = 8000
PING_PORT = 9000


def traefik_args() -> list[str]:
    """Traefik's static configuration, as flags."""
    return [
        f"--entryPoints.web.address=:{WEB_PORT}",
        f"--entryPoints.traefik.address=:{PING_PORT}",
        "--ping=true",
        "--ping.entryPoint=traefik",
        "--providers.kubernetesingress=true",
        f"--providers.kubernetesingress.ingressendpoint.ip={INGRESS_ADDRESS}",
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
        "--log.level=INFO",
        "--log.noColor=true",
    ]


RULES: list[dict[str, object]] = [
    {"apiGroups": [""], "resources": ["services", "secrets", "nodes"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
    {
        "apiGroups": ["networking.k8s.io"],
        "resources": ["ingresses", "ingressclasses"],
        "verbs": ["get", "list", "watch"],
    },
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses/status"], "verbs": ["update"]},
]
"""What Traefik's Kubernetes Ingress provider reads, and the status it writes."""


def _container() -> dict[str, object]:
    return {
        "name": NAME,
        "image": TRAEFIK_IMAGE,
        "imagePullPolicy": "Never",
        "args": traefik_args(),
        # The kubeconfig (API server through the gateway), not the in-cluster client: the
        # kubernetes Service's address does not lead to this cluster's API server from a pod.
        "env": [
            {"name": "KUBECONFIG", "value": "/etc/traefik/kubeconfig"},
            {"name": "KUBERNETES_SERVICE_HOST", "value": ""},
        ],
        "ports": [
            {
                "name": "web",
                "containerPort": WEB_PORT,
                "hostPort": INGRESS_PORT,
                "hostIP": INGRESS_ADDRESS,
                "protocol": "TCP",
            },
            {"name": "traefik", "containerPort": PING_PORT, "protocol": "TCP"},
        ],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
        },
        "readinessProbe": {"httpGet": {"path": "/ping", "port": PING_PORT}, "periodSeconds": 2},
        "livenessProbe": {"httpGet": {"path": "/ping", "port": PING_PORT}, "periodSeconds": 10},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/traefik"}],
    }


def traefik_manifests(*, apiserver_port: int) -> str:
    """Traefik's ServiceAccount, RBAC, IngressClass, kubeconfig and Deployment, as a JSON List."""
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": POD_LABELS},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},  # one pod holds the hostPort at a time
            "selector": {"matchLabels": POD_LABELS},
            "template": {
                "metadata": {"labels": POD_LABELS},
                "spec": {
                    "nodeSelector": {NODE_LABEL[0]: NODE_LABEL[1]},
                    "tolerations": [{"key": NODE_TAINT[0], "operator": "Equal", "value": NODE_TAINT[1]}],
                    "serviceAccountName": NAME,
                    "enableServiceLinks": False,
                    "securityContext": {
                        "runAsUser": 65532,
                        "runAsGroup": 65532,
                        "runAsNonRoot": True,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [_container()],
                    "volumes": [{"name": "config", "configMap": {"name": NAME}}],
                },
            },
        },
    }
    objects = [
        *system_account(NAME, RULES),
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": INGRESS_CLASS},
            "spec": {"controller": CONTROLLER},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": NAME, "namespace": NAMESPACE},
            "data": {"kubeconfig": pod_kubeconfig(apiserver_port=apiserver_port, user=NAME)},
        },
        deployment,
    ]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
