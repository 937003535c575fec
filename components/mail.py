"""Outgoing mail of a store: a must-use plugin that sends every ``wp_mail`` (WooCommerce's order and
customer mails, password resets) through the environment's SMTP relay.

Created by the WordPress part (``components.wordpress``). The WordPress image has no mail transport
(PHP's ``mail()`` needs a sendmail the image lacks), and the egress policy opens no SMTP port, so
without a relay nothing leaves the store and ``wp_mail`` returns false. With one, the plugin
(``phpmailer_init``) points PHPMailer at the relay, from the pod's ``STORESTACK_SMTP_*`` variables;
the relay password, when there is one, is in a Secret of its own (``mail-relay``), read through
``secretKeyRef``, never in the plugin, the ConfigMap or a process's argv. The plugin lives outside
the WordPress volume (``WPMU_PLUGIN_DIR``), so an image bump or a volume restore always brings the
current one. ``components.guardrails`` opens the relay's port to the web pods only when it is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from components.common import child_opts, object_labels, plain_env, secret_env

MU_PLUGIN_DIR = "/etc/storestack/mu-plugins"
MU_PLUGIN_CONFIGMAP = "wordpress-mu-plugins"
MAIL_SECRET = "mail-relay"  # noqa: S105 - a Secret's name
MAIL_PASSWORD_KEY = "smtp-password"  # noqa: S105 - a key name

MAIL_PLUGIN = r"""<?php
/**
 * Plugin Name: Storestack mail relay
 * Description: Sends WordPress mail through the SMTP relay of the store's environment
 *   (STORESTACK_SMTP_HOST, _PORT, _SECURITY, _USER, _PASSWORD, _FROM). Without a host, it does nothing.
 */
add_action('phpmailer_init', static function ($mailer) {
	$host = getenv('STORESTACK_SMTP_HOST');
	if (!is_string($host) || $host === '') {
		return;
	}
	$mailer->isSMTP();
	$mailer->Host = $host;
	$mailer->Port = (int) (getenv('STORESTACK_SMTP_PORT') ?: 587);
	$security = getenv('STORESTACK_SMTP_SECURITY') ?: 'starttls';
	$mailer->SMTPSecure = $security === 'tls' ? 'ssl' : ($security === 'starttls' ? 'tls' : '');
	$mailer->SMTPAutoTLS = $security !== 'none';
	$user = getenv('STORESTACK_SMTP_USER');
	if (is_string($user) && $user !== '') {
		$mailer->SMTPAuth = true;
		$mailer->Username = $user;
		$mailer->Password = (string) getenv('STORESTACK_SMTP_PASSWORD');
	}
	$from = getenv('STORESTACK_SMTP_FROM');
	if (is_string($from) && $from !== '') {
		$mailer->setFrom($from, $mailer->FromName, false);
	}
});
"""


@dataclass(frozen=True, kw_only=True)
class MailRelay:
    """An SMTP relay (decided by ``stacks.program`` from the environment's ``mail:``)."""

    host: str
    """Host name or address of the relay."""
    port: int = 587
    """Its TCP port."""
    security: Literal["starttls", "tls", "none"] = "starttls"
    """STARTTLS, TLS from the first byte (465), or neither (a relay on a trusted network)."""
    user: str | None = None
    """SMTP user; with it, ``password`` is required."""
    password: pulumi.Input[str] | None = None
    """SMTP password (a Pulumi secret)."""
    from_address: str | None = None
    """Envelope and header sender (WordPress's ``wordpress@<host>`` otherwise)."""


class StoreMail:
    """The mu-plugin ConfigMap, and the relay's Secret when it has a password; ``env``,
    ``volume`` and ``mount`` are what the WordPress container needs."""

    def __init__(
        self,
        name: str,
        *,
        parent: pulumi.Resource,
        inherited: list[pulumi.Resource],
        namespace: pulumi.Input[str],
        store_name: str,
        relay: MailRelay | None,
    ) -> None:
        labels = object_labels(store_name)
        plugins = k8s.core.v1.ConfigMap(
            f"{name}-mu-plugins",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=MU_PLUGIN_CONFIGMAP, namespace=namespace, labels=labels),
            data={"storestack-mail.php": MAIL_PLUGIN},
            opts=child_opts(parent, inherited),
        )
        self.volume = k8s.core.v1.VolumeArgs(
            name="mu-plugins",
            config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=plugins.metadata.name),
        )
        self.mount = k8s.core.v1.VolumeMountArgs(name="mu-plugins", mount_path=MU_PLUGIN_DIR, read_only=True)
        self.env: list[k8s.core.v1.EnvVarArgs] = []
        if relay is None:
            return
        self.env = [
            plain_env("STORESTACK_SMTP_HOST", relay.host),
            plain_env("STORESTACK_SMTP_PORT", str(relay.port)),
            plain_env("STORESTACK_SMTP_SECURITY", relay.security),
        ]
        if relay.from_address:
            self.env.append(plain_env("STORESTACK_SMTP_FROM", relay.from_address))
        if relay.user:
            if relay.password is None:
                raise ValueError("a mail relay with a user needs a password")
            secret = k8s.core.v1.Secret(
                f"{name}-relay-secret",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=MAIL_SECRET, namespace=namespace, labels=labels),
                type="Opaque",
                string_data={MAIL_PASSWORD_KEY: pulumi.Output.secret(relay.password)},
                opts=child_opts(parent, inherited),
            )
            self.env += [
                plain_env("STORESTACK_SMTP_USER", relay.user),
                secret_env(
                    "STORESTACK_SMTP_PASSWORD", secret_name=secret.metadata.name, key=MAIL_PASSWORD_KEY
                ),
            ]
