"""The toolchain chain test: the real pulumi engine and Kubernetes provider against the simulated
cluster, with Pulumi's default awaits (no skipAwait): Namespace, Deployment, Service, PVC and Job."""

from __future__ import annotations

import json
import subprocess

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi import automation as auto

from stacks.runtime import PROJECT_NAME, FleetConfig, pulumi_env
from toolchain.cluster import SimCluster

pytestmark = pytest.mark.cluster


def _program() -> None:
    ns = k8s.core.v1.Namespace("ns", metadata={"name": "chain"})
    opts = pulumi.ResourceOptions(depends_on=[ns])
    labels = {"app": "web"}
    pvc = k8s.core.v1.PersistentVolumeClaim(
        "data",
        metadata={"name": "data", "namespace": "chain"},
        spec={"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        opts=opts,
    )
    deployment = k8s.apps.v1.Deployment(
        "web",
        metadata={"name": "web", "namespace": "chain"},
        spec={
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "web", "image": "nginx:1.29.3", "ports": [{"containerPort": 80}]}
                    ],
                    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
                },
            },
        },
        opts=pulumi.ResourceOptions(depends_on=[ns, pvc]),
    )
    service = k8s.core.v1.Service(
        "web",
        metadata={"name": "web", "namespace": "chain"},
        spec={"selector": labels, "ports": [{"port": 80}]},
        opts=pulumi.ResourceOptions(depends_on=[deployment]),
    )
    job = k8s.batch.v1.Job(
        "setup",
        metadata={"name": "setup", "namespace": "chain"},
        spec={
            "backoffLimit": 1,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "setup", "image": "busybox:1.37.0", "command": ["true"]}],
                }
            },
        },
        opts=opts,
    )
    pulumi.export("available", deployment.status.apply(lambda s: s.available_replicas))
    pulumi.export("pvc_phase", pvc.status.apply(lambda s: s.phase))
    pulumi.export("job_succeeded", job.status.apply(lambda s: s.succeeded))
    pulumi.export("cluster_ip", service.spec.apply(lambda s: s.cluster_ip))


def test_chain_up_outputs_cli_destroy(fleet_config: FleetConfig, sim_cluster: SimCluster) -> None:
    fleet_config.state_dir.mkdir(parents=True)
    fleet_config.project_dir.mkdir(parents=True)
    env = pulumi_env(fleet_config)
    stack = auto.create_or_select_stack(
        stack_name="chain",
        project_name=PROJECT_NAME,
        program=_program,
        opts=auto.LocalWorkspaceOptions(
            work_dir=str(fleet_config.project_dir),
            pulumi_home=str(fleet_config.pulumi_home),
            env_vars=env,
            secrets_provider="passphrase",
            pulumi_command=auto.PulumiCommand(root=str(fleet_config.tools_dir)),
        ),
    )
    result = stack.up(color="never")
    assert result.summary.result == "succeeded"
    outputs = stack.outputs()
    assert outputs["available"].value == 2
    assert outputs["pvc_phase"].value == "Bound"
    assert outputs["job_succeeded"].value == 1
    assert outputs["cluster_ip"].value

    pods = json.loads(sim_cluster.kubectl("get", "pods", "-n", "chain", "-o", "json"))
    assert len([p for p in pods["items"] if p["status"]["phase"] == "Running"]) == 2

    # The plain pulumi CLI sees the same stack in the same backend.
    cli = subprocess.run(
        [str(fleet_config.tools_dir / "bin" / "pulumi"), "stack", "ls", "--json"],
        cwd=fleet_config.project_dir,
        env={**env, "HOME": str(fleet_config.data_dir)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert [s["name"] for s in json.loads(cli.stdout)] == ["chain"]

    stack.destroy(color="never")
    namespaces = sim_cluster.kubectl("get", "namespaces", "-o", "name")
    assert "namespace/chain" not in namespaces.split()
    stack.workspace.remove_stack("chain")
    assert stack.workspace.list_stacks() == []


def test_sim_cluster_status(sim_cluster: SimCluster) -> None:
    status = sim_cluster.status()
    assert status.running
    assert status.version == "v1.34.4"
    assert status.nodes == 3
    assert status.server is not None and status.server.startswith("https://127.0.0.1:")
    classes = json.loads(sim_cluster.kubectl("get", "storageclass", "-o", "json"))["items"]
    default = [
        c["metadata"]["name"]
        for c in classes
        if c["metadata"].get("annotations", {}).get("storageclass.kubernetes.io/is-default-class") == "true"
    ]
    assert default == ["standard"]
