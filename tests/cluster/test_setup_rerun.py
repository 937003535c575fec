"""A setup Job that failed once is run again by the next ``up`` (``pulumi.com/replaceUnready``).

The real ``WooCommerceSetup`` component in an inline Pulumi program on the simulated cluster. A kwok
Stage makes this test's setup pods fail on one node only; the first ``up`` fails on the failed Job.
Then the WordPress pod moves to another node (the setup pod must follow it: RWO volume), and the
next ``up`` of the *same* spec must replace the failed Job and succeed. Without the annotation
Pulumi would await the same failed Job again and fail at once.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi import automation as auto

from components.common import Compute, Resources, ShopSettings, selector_labels
from components.setup_job import JOB_NAME, ShopDetails, WooCommerceSetup, WooCommerceSetupArgs
from stacks.runtime import PROJECT_NAME, FleetConfig, pulumi_env
from toolchain.cluster import SimCluster

pytestmark = pytest.mark.cluster

STORE = "setup-fails-once"
NAMESPACE = f"store-{STORE}"
FAIL_NODE = "node-000000"  # the first of kwokctl's simulated nodes
FAIL_STAGE = f"""\
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: storestack-test-setup-fails-on-{FAIL_NODE}
spec:
  resourceRef: {{apiGroup: v1, kind: Pod}}
  weight: 1  # beats the default pod stages (weight 0) for the pods it selects
  selector:
    matchLabels:
      app.kubernetes.io/name: woocommerce-setup
      app.kubernetes.io/instance: {STORE}
    matchExpressions:
      - jq: {{key: .metadata.deletionTimestamp, operator: DoesNotExist}}
      - jq: {{key: .status.phase, operator: In, values: [Pending]}}
      - jq: {{key: .spec.nodeName, operator: In, values: [{FAIL_NODE}]}}
  next:
    statusTemplate: |
      phase: Failed
      reason: StorestackTestFailure
      message: this test's setup pods fail on {FAIL_NODE}
"""
WORDPRESS_LABELS = selector_labels(STORE, "wordpress")


def _program() -> None:
    ns = k8s.core.v1.Namespace("ns", metadata={"name": NAMESPACE})
    pvc = k8s.core.v1.PersistentVolumeClaim(
        "files",
        metadata={"name": "wordpress-files", "namespace": NAMESPACE},
        spec={"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "64Mi"}}},
        opts=pulumi.ResourceOptions(depends_on=[ns]),
    )
    web = k8s.apps.v1.Deployment(
        "wordpress",
        metadata={"name": "wordpress", "namespace": NAMESPACE},
        spec={
            "selector": {"matchLabels": WORDPRESS_LABELS},
            "template": {
                "metadata": {"labels": WORDPRESS_LABELS},
                "spec": {"containers": [{"name": "wordpress", "image": "wordpress:6.8.3-php8.3-apache"}]},
            },
        },
        opts=pulumi.ResourceOptions(depends_on=[ns]),
    )
    small = Compute(cpu="50m", memory="64Mi")
    WooCommerceSetup(
        "setup",
        WooCommerceSetupArgs(
            namespace=NAMESPACE,
            store_name=STORE,
            url=f"http://{STORE}.sim.storestack.test",
            image="wordpress:cli-2.12.0-php8.3",
            woocommerce_version="10.3.5",
            shop=ShopDetails(
                title="Fails once",
                admin_user="admin",
                admin_email="admin@example.com",
                settings=ShopSettings(
                    country="US:CA", currency="USD", address="1 St", city="SF", postcode="94103"
                ),
            ),
            secret_name="store-credentials",
            admin_password_key="wordpress-admin-password",
            wordpress_env=[],
            wordpress_pvc_name=pvc.metadata.name,
            wordpress_pod_labels=WORDPRESS_LABELS,
            wordpress_image="wordpress:6.8.3-php8.3-apache",
            resources=Resources(requests=small, limits=small),
            backoff_limit=0,  # one failed pod fails the Job: the first `up` fails in seconds
        ),
        opts=pulumi.ResourceOptions(depends_on=[web, pvc]),
    )


def _nodes(cluster: SimCluster) -> list[str]:
    nodes = json.loads(cluster.kubectl("get", "nodes", "-o", "json"))["items"]
    fake = [n for n in nodes if n["metadata"].get("annotations", {}).get("kwok.x-k8s.io/node") == "fake"]
    return sorted(n["metadata"]["name"] for n in fake)


def _job(cluster: SimCluster) -> dict:  # type: ignore[type-arg]
    return json.loads(cluster.kubectl("get", "job", JOB_NAME, "-n", NAMESPACE, "-o", "json"))  # type: ignore[no-any-return]


def test_failed_setup_job_is_rerun_by_the_next_up(fleet_config: FleetConfig, sim_cluster: SimCluster) -> None:
    sim_cluster.add_kwok_stages(FAIL_STAGE)
    others = [n for n in _nodes(sim_cluster) if n != FAIL_NODE]
    assert FAIL_NODE in _nodes(sim_cluster) and others
    fleet_config.state_dir.mkdir(parents=True)
    fleet_config.project_dir.mkdir(parents=True)
    stack = auto.create_or_select_stack(
        stack_name=STORE,
        project_name=PROJECT_NAME,
        program=_program,
        opts=auto.LocalWorkspaceOptions(
            work_dir=str(fleet_config.project_dir),
            pulumi_home=str(fleet_config.pulumi_home),
            env_vars=pulumi_env(fleet_config),
            secrets_provider="passphrase",
            pulumi_command=auto.PulumiCommand(root=str(fleet_config.tools_dir)),
        ),
    )
    try:
        for node in others:  # everything of the store lands on the failing node first
            sim_cluster.kubectl("cordon", node)
        with pytest.raises(auto.CommandError) as failed:
            stack.up(color="never")
        assert JOB_NAME in str(failed.value)
        first = _job(sim_cluster)
        assert any(c["type"] == "Failed" and c["status"] == "True" for c in first["status"]["conditions"])

        # The cause goes away (WordPress, and so the setup pod, now runs on a healthy node); the
        # spec is unchanged.
        for node in others:
            sim_cluster.kubectl("uncordon", node)
        sim_cluster.kubectl("cordon", FAIL_NODE)
        sim_cluster.kubectl("delete", "pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/name=wordpress")

        result = stack.up(color="never")
        assert result.summary.result == "succeeded"
        second = _job(sim_cluster)
        assert second["metadata"]["uid"] != first["metadata"]["uid"]  # a new Job: the setup ran again
        assert second["status"]["succeeded"] == 1
        assert result.summary.resource_changes and result.summary.resource_changes.get("replace") == 1
    finally:
        for node in _nodes(sim_cluster):
            sim_cluster.kubectl("uncordon", node)
        stack.destroy(color="never")
        stack.workspace.remove_stack(STORE)
