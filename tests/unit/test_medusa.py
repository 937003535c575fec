"""The Medusa engine's objects (Pulumi mocks): PostgreSQL, the setup Job, the server, the Secret's
layout, the guardrails' ports, and the environment and API checks that say where Medusa is offered."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.runtime.rpc import is_rpc_secret

import environments
from api.errors import ValidationFailedError
from api.services.limits import check_engine
from components.engines.medusa import ADMIN_PASSWORD_KEY, COOKIE_SECRET_KEY, JWT_SECRET_KEY
from stacks.program import store_args
from stacks.types import StoreSpec
from tests.unit.conftest import credential_values, deploy_store, sentinel
from tests.unit.harness import Deployment, plain

SPEC = StoreSpec(name="shop", engine="medusa", title="Bob's Shop", admin_email="bob@example.org")

_CACHE: dict[str, Deployment] = {}


def medusa_store(env_name: str = "realnode") -> Deployment:
    if env_name not in _CACHE:
        _CACHE[env_name] = deploy_store(environments.load(env_name), SPEC)
    return _CACHE[env_name]


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def _pod(resource: Any) -> dict[str, Any]:
    spec: dict[str, Any] = resource.spec["template"]["spec"]
    return spec


@pytest.mark.parametrize("env_name", ["sim", "realnode", "local"])
def test_objects_of_a_medusa_store(env_name: str) -> None:
    store = medusa_store(env_name)
    names = {(r.typ.split(":")[-1], r.k8s_name) for r in store.kubernetes()}
    for wanted in [
        ("StatefulSet", "postgres"),
        ("PersistentVolumeClaim", "postgres-data"),
        ("PersistentVolumeClaim", "medusa-uploads"),
        ("Service", "postgres"),
        ("Deployment", "medusa"),
        ("Service", "medusa"),
        ("Job", "medusa-setup"),
        ("Ingress", "store"),
    ]:
        assert wanted in names, wanted
    kinds = {kind for kind, _ in names}
    assert "CronJob" not in kinds  # Medusa schedules its own work
    assert not any(name in ("mysql", "wordpress") for _, name in names)


def test_postgres_statefulset_takes_its_password_from_the_secret() -> None:
    store = medusa_store()
    pod = _pod(store.one("kubernetes:apps/v1:StatefulSet", "postgres"))
    (container,) = pod["containers"]
    env = _env(container)
    assert env["POSTGRES_USER"] == "medusa" and env["POSTGRES_DB"] == "medusa"
    assert env["POSTGRES_PASSWORD"] == {
        "secretKeyRef": {"name": "store-credentials", "key": "postgres-password"}
    }
    assert env["PGDATA"] == "/var/lib/postgresql/data"
    (mount,) = container["volumeMounts"]
    assert mount == {"name": "data", "mountPath": "/var/lib/postgresql/data", "subPath": "postgres"}
    assert container["ports"][0]["containerPort"] == 5432
    assert "pg_isready" in container["startupProbe"]["exec"]["command"][-1]
    assert "$POSTGRES_PASSWORD" in container["readinessProbe"]["exec"]["command"][-1]


def test_secret_uses_medusas_key_names_with_every_value_secret() -> None:
    store = medusa_store()
    secret = store.one("kubernetes:core/v1:Secret")
    assert is_rpc_secret(secret.inputs["stringData"]), "stringData must be a Pulumi secret"
    data = plain(secret.inputs["stringData"])
    assert set(data) == {"postgres-password", ADMIN_PASSWORD_KEY, JWT_SECRET_KEY, COOKIE_SECRET_KEY}
    assert data["postgres-password"] == sentinel("mysql_password")
    assert data[ADMIN_PASSWORD_KEY] == sentinel("admin_password")


def test_no_credential_outside_the_secret() -> None:
    store = medusa_store()
    secrets = [sentinel(k) for k in ("mysql_password", "admin_password", "auth_key", "secure_auth_key")]
    for resource in store.kubernetes():
        if resource.typ == "kubernetes:core/v1:Secret":
            continue
        dumped = store.dump(resource)
        assert not [s for s in secrets if s in dumped], resource.k8s_name


def test_server_and_setup_share_the_config_and_run_restricted() -> None:
    store = medusa_store()
    deployment = store.one("kubernetes:apps/v1:Deployment", "medusa")
    job = store.one("kubernetes:batch/v1:Job", "medusa-setup")
    server, setup = _pod(deployment), _pod(job)
    (s_container,), (j_container,) = server["containers"], setup["containers"]
    assert s_container["args"] == ["start"] and j_container["args"] == ["setup"]
    s_env, j_env = _env(s_container), _env(j_container)
    for key in (
        "MEDUSA_DATABASE_HOST",
        "MEDUSA_DATABASE_PASSWORD",
        "JWT_SECRET",
        "COOKIE_SECRET",
        "MEDUSA_STORE_URL",
    ):
        assert s_env[key] == j_env[key], key
    assert s_env["MEDUSA_STORE_URL"] == "http://shop.realnode.storestack.test"
    assert s_env["JWT_SECRET"] == {"secretKeyRef": {"name": "store-credentials", "key": JWT_SECRET_KEY}}
    assert "MEDUSA_ADMIN_PASSWORD" not in s_env  # only the Job needs it
    assert j_env["MEDUSA_ADMIN_PASSWORD"] == {
        "secretKeyRef": {"name": "store-credentials", "key": ADMIN_PASSWORD_KEY}
    }
    assert j_env["MEDUSA_ADMIN_EMAIL"] == "bob@example.org"
    assert (j_env["MEDUSA_COUNTRY"], j_env["MEDUSA_CURRENCY"]) == ("US", "USD")  # US:CA -> US
    for pod, container in ((server, s_container), (setup, j_container)):
        assert pod["securityContext"]["runAsUser"] == 1000 and pod["securityContext"]["runAsNonRoot"] is True
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True and context["capabilities"] == {"drop": ["ALL"]}
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]  # noqa: S108 - the pod's emptyDir
        assert pod["automountServiceAccountToken"] is False
    assert s_container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert {"name": "uploads", "mountPath": "/app/static"} in s_container["volumeMounts"]
    assert {"name": "uploads", "persistentVolumeClaim": {"claimName": "medusa-uploads"}} in server["volumes"]
    assert not [m for m in j_container["volumeMounts"] if m["name"] == "uploads"]
    assert deployment.spec["strategy"] == {"type": "Recreate"}


def test_server_starts_after_the_setup_job_and_the_job_beside_postgres() -> None:
    store = medusa_store()
    deployment = store.one("kubernetes:apps/v1:Deployment", "medusa")
    job = store.one("kubernetes:batch/v1:Job", "medusa-setup")
    postgres = store.one("kubernetes:apps/v1:StatefulSet", "postgres")
    assert store.depends_on(deployment, job)
    assert not store.depends_on(job, postgres)
    # The Service is made beside the guardrails; the pods wait for them.
    quota = store.one("kubernetes:core/v1:ResourceQuota")
    assert store.depends_on(job, quota) and store.depends_on(postgres, quota)
    assert not store.depends_on(store.one("kubernetes:core/v1:Service", "medusa"), quota)
    assert job.metadata["annotations"]["pulumi.com/replaceUnready"] == "true"
    template = job.spec["template"]["metadata"]["annotations"]
    assert template["storestack.io/medusa-image"] == "localhost/storestack/medusa:2.21.2-node20-trixie"


def test_guardrails_and_ingress_use_medusas_ports() -> None:
    store = medusa_store()
    web = store.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "allow-ingress-to-web").spec
    assert web["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 9000}]
    db = store.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "allow-database-ingress").spec
    assert db["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 5432}]
    rule = store.one("kubernetes:networking.k8s.io/v1:Ingress").spec["rules"][0]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "medusa", "port": {"number": 9000}}
    quota = store.one("kubernetes:core/v1:ResourceQuota").spec["hard"]
    assert quota["limits.memory"] == "3Gi"  # the medusa: section's quota, not WooCommerce's


def test_outputs_name_the_admin_by_email_and_the_dashboard() -> None:
    outputs = medusa_store().outputs
    assert outputs["admin_url"] == "http://shop.realnode.storestack.test/app/"
    assert outputs["admin_user"] == "bob@example.org"


def test_environment_without_medusa_refuses_it_and_plans_are_woocommerces() -> None:
    prod = environments.load("prod")
    assert prod.engines == ("woocommerce",)
    with pytest.raises(ValueError, match="does not offer engine 'medusa'"):
        store_args(SPEC, prod, credential_values())
    local = environments.load("local")
    with pytest.raises(ValueError, match="plans size WooCommerce stores"):
        local.check_store("medusa", "large")
    local.check_store("woocommerce", "large")


def test_api_checks_name_the_field() -> None:
    with pytest.raises(ValidationFailedError, match=r"^engine: this environment does not offer 'medusa'"):
        check_engine("medusa", None, frozenset({"woocommerce"}))
    with pytest.raises(ValidationFailedError, match=r"^plan: plans size WooCommerce stores"):
        check_engine("medusa", "large", frozenset({"woocommerce", "medusa"}))
    check_engine("medusa", None, frozenset({"woocommerce", "medusa"}))


def test_medusa_section_is_checked_like_the_rest() -> None:
    text = environments.load("realnode").model_dump(mode="json")
    text["medusa"]["resources"]["server"]["requests"]["memory"] = "2Gi"
    text["medusa"]["quota"]["pods"] = 2
    text["medusa"]["postgres_size"] = "9Gi"
    with pytest.raises(environments.EnvironmentError) as caught:
        environments.parse(__import__("yaml").safe_dump(text), file="bad.yaml")
    message = str(caught.value)
    assert "medusa.resources.server.requests.memory" in message
    assert "medusa.quota.pods" in message
    assert "medusa.postgres_size" in message
