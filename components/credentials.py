"""The store Secret: database passwords, the admin password and the app's signing keys (WordPress: its
eight salts), under the keys the engine names (``WOOCOMMERCE_KEYS``; Medusa: ``components.engines.medusa``).

``components.store.Store`` creates it from ``CredentialValues`` (Pulumi secrets the program reads from
stack config); the database and app parts only reference it by name and key (``secretKeyRef``), so no
credential is ever written into a pod spec or a script.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType

import pulumi
import pulumi_kubernetes as k8s

from components.common import child_opts, inherited_depends_on, object_labels

SECRET_NAME = "store-credentials"  # noqa: S105 - a name, not a value
"""``metadata.name`` of the store Secret."""

MYSQL_ROOT_PASSWORD_KEY = "mysql-root-password"  # noqa: S105 - a name, not a value
MYSQL_PASSWORD_KEY = "mysql-password"  # noqa: S105 - a name, not a value
ADMIN_PASSWORD_KEY = "wordpress-admin-password"  # noqa: S105 - a name, not a value

WORDPRESS_SALTS = (
    "AUTH_KEY",
    "SECURE_AUTH_KEY",
    "LOGGED_IN_KEY",
    "NONCE_KEY",
    "AUTH_SALT",
    "SECURE_AUTH_SALT",
    "LOGGED_IN_SALT",
    "NONCE_SALT",
)
"""The eight WordPress keys/salts (the official image reads ``WORDPRESS_<name>``)."""


def salt_key(salt: str) -> str:
    """The Secret key of a WordPress salt, e.g. ``AUTH_KEY`` -> ``wordpress-auth-key``."""
    return "wordpress-" + salt.lower().replace("_", "-")


WOOCOMMERCE_KEYS: Mapping[str, str] = MappingProxyType(
    {
        MYSQL_ROOT_PASSWORD_KEY: "mysql_root_password",
        MYSQL_PASSWORD_KEY: "mysql_password",
        ADMIN_PASSWORD_KEY: "admin_password",
        **{salt_key(salt): salt.lower() for salt in WORDPRESS_SALTS},
    }
)
"""A WooCommerce store's Secret: its key -> the ``CredentialValues`` field it holds."""


@dataclass(frozen=True, kw_only=True)
class CredentialValues:
    """Every generated credential of a store; each should be a Pulumi secret Output."""

    mysql_root_password: pulumi.Input[str]
    """MySQL ``root`` password (probes and administration)."""
    mysql_password: pulumi.Input[str]
    """Password of the application's MySQL user."""
    admin_password: pulumi.Input[str]
    """WordPress administrator password."""
    auth_key: pulumi.Input[str]
    """WordPress ``AUTH_KEY``."""
    secure_auth_key: pulumi.Input[str]
    """WordPress ``SECURE_AUTH_KEY``."""
    logged_in_key: pulumi.Input[str]
    """WordPress ``LOGGED_IN_KEY``."""
    nonce_key: pulumi.Input[str]
    """WordPress ``NONCE_KEY``."""
    auth_salt: pulumi.Input[str]
    """WordPress ``AUTH_SALT``."""
    secure_auth_salt: pulumi.Input[str]
    """WordPress ``SECURE_AUTH_SALT``."""
    logged_in_salt: pulumi.Input[str]
    """WordPress ``LOGGED_IN_SALT``."""
    nonce_salt: pulumi.Input[str]
    """WordPress ``NONCE_SALT``."""

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The credential names, in declaration order."""
        return tuple(f.name for f in fields(cls))

    def secret_data(self, keys: Mapping[str, str] = WOOCOMMERCE_KEYS) -> dict[str, pulumi.Input[str]]:
        """The Secret's ``stringData`` in an engine's layout (Secret key -> credential field), each
        value wrapped as a Pulumi secret."""
        return {key: pulumi.Output.secret(getattr(self, value)) for key, value in keys.items()}


@dataclass(frozen=True, kw_only=True)
class StoreCredentialsArgs:
    """Inputs of ``StoreCredentials``."""

    namespace: pulumi.Input[str]
    """The store namespace."""
    store_name: str
    """The store's name (labels)."""
    values: CredentialValues
    """The credential values (Pulumi secrets)."""
    keys: Mapping[str, str] = field(default_factory=lambda: WOOCOMMERCE_KEYS)
    """The Secret's layout: its key -> the credential field (the engine's ``secret_keys``)."""


class StoreCredentials(pulumi.ComponentResource):
    """The store Secret (``store-credentials``)."""

    secret_name: pulumi.Output[str]
    """The Secret's name; reference keys with ``secretKeyRef``."""
    admin_password: pulumi.Output[str]
    """The WordPress admin password (a Pulumi secret)."""

    def __init__(
        self, name: str, args: StoreCredentialsArgs, *, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("storestack:index:StoreCredentials", name, None, opts)
        secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=SECRET_NAME, namespace=args.namespace, labels=object_labels(args.store_name)
            ),
            type="Opaque",
            string_data=args.values.secret_data(args.keys),
            opts=child_opts(self, inherited_depends_on(opts)),
        )
        self.secret_name = secret.metadata.name
        self.admin_password = pulumi.Output.secret(args.values.admin_password)
        self.register_outputs({"secret_name": self.secret_name})
