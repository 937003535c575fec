"""The store's scheduled work: a CronJob that runs WordPress's due events (WP-Cron, and with it
WooCommerce's Action Scheduler) by calling ``wp-cron.php`` through the store's own Service.

Created by the WooCommerce engine (``components.engines.woocommerce``) beside WordPress. WP-Cron's
own trigger (a request from each page view to the store's *public* URL) is switched off in
wp-config (``DISABLE_WP_CRON``): the egress policy drops it in prod, and a store with no visitors
would never run its schedule. The cron pod carries the ``cron`` role, which the NetworkPolicies let
reach the web pods' port and nothing else; it runs the WordPress image's ``curl`` as www-data, with
no token, no volume and no secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.common import (
    ROLE_CRON,
    CronSettings,
    Scheduling,
    child_opts,
    container_security_context,
    inherited_depends_on,
    object_labels,
    part_opts,
    pod_security_context,
)

CRONJOB_NAME = "wp-cron"
WWW_DATA = 33


def cron_command(*, service: str, port: int, host: str) -> list[str]:
    """``curl`` of ``wp-cron.php`` at the Service, with the store's Host header (no secret in it).

    A refused or failed connection is tried again for up to a minute: a policy engine (kube-router
    on k3s) lets a new pod through only once it has added the pod's address to the web pods'
    allowed sources, which can take a moment after the pod starts; the first try of a run often
    comes before that (on the real node, a run made at once failed without the retries and took
    6 s with them)."""
    return [
        "curl",
        "--fail",
        "--silent",
        "--show-error",
        "--retry",
        "10",
        "--retry-connrefused",
        "--retry-delay",
        "2",
        "--retry-max-time",
        "60",
        "--max-time",
        "480",
        "--output",
        "/dev/null",
        "--header",
        f"Host: {host}",
        f"http://{service}:{port}/wp-cron.php",
    ]


@dataclass(frozen=True, kw_only=True)
class StoreCronArgs:
    """Inputs of ``StoreCron``."""

    namespace: pulumi.Input[str]
    """The store namespace."""
    store_name: str
    """The store's name (labels)."""
    host: str
    """The store's public host name (the Host header WordPress answers to)."""
    service_name: pulumi.Input[str]
    """The web Service."""
    service_port: int
    """Its port."""
    image: str
    """An image with ``curl`` (the WordPress image)."""
    settings: CronSettings
    """Schedule and resources."""
    scheduling: Scheduling = field(default_factory=Scheduling)
    """Node selector and tolerations."""
    suspended: bool = False
    """Suspended: no run is started (the CronJob's ``suspend``)."""


class StoreCron(pulumi.ComponentResource):
    """The ``wp-cron`` CronJob."""

    cronjob_name: pulumi.Output[str]
    """The CronJob's name."""

    def __init__(self, name: str, args: StoreCronArgs, *, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("storestack:index:StoreCron", name, None, part_opts(opts))
        inherited = inherited_depends_on(opts)
        labels = object_labels(args.store_name, app=CRONJOB_NAME, role=ROLE_CRON)
        command = pulumi.Output.from_input(args.service_name).apply(
            lambda service: cron_command(service=service, port=args.service_port, host=args.host)
        )
        container = k8s.core.v1.ContainerArgs(
            name="wp-cron",
            image=args.image,
            image_pull_policy="IfNotPresent",
            command=command,
            resources=args.settings.resources.to_k8s(),
            security_context=container_security_context(non_root=True),
        )
        cronjob = k8s.batch.v1.CronJob(
            f"{name}-cronjob",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=CRONJOB_NAME, namespace=args.namespace, labels=labels),
            spec=k8s.batch.v1.CronJobSpecArgs(
                schedule=args.settings.schedule,
                suspend=args.suspended,
                concurrency_policy="Forbid",  # one run at a time; a slow run is not stacked
                starting_deadline_seconds=300,
                successful_jobs_history_limit=1,
                failed_jobs_history_limit=1,
                job_template=k8s.batch.v1.JobTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.batch.v1.JobSpecArgs(
                        backoff_limit=0,  # the next schedule is the retry
                        active_deadline_seconds=600,
                        template=k8s.core.v1.PodTemplateSpecArgs(
                            metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                            spec=k8s.core.v1.PodSpecArgs(
                                restart_policy="Never",
                                automount_service_account_token=False,
                                enable_service_links=False,
                                security_context=pod_security_context(run_as_user=WWW_DATA),
                                node_selector=args.scheduling.node_selector_k8s(),
                                tolerations=args.scheduling.tolerations_k8s(),
                                containers=[container],
                            ),
                        ),
                    ),
                ),
            ),
            opts=child_opts(self, inherited),
        )
        self.cronjob_name = cronjob.metadata.name
        self.register_outputs({"cronjob": self.cronjob_name})
