"""The WooCommerce setup script (``components.setup_job.SETUP_SCRIPT``) really run with /bin/sh.

``wp`` and ``php`` are the stand-in ``tests/unit/standin_wp.sh`` placed first on PATH: it keeps
WordPress's options in a state directory and behaves like WP-CLI 2.12 + WooCommerce 10.x where it
matters (the deprecated task-list options refuse updates; ``wp core install --prompt`` echoes the
admin password to stdout). See the stand-in's header for exactly what it reproduces.
"""

from __future__ import annotations

import os
import secrets
import shutil
import string
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.setup_job import SAMPLE_PRODUCT_SLUG, SETUP_SCRIPT

STANDIN = Path(__file__).with_name("standin_wp.sh")
SHELL = "/bin/sh"


@dataclass
class Run:
    returncode: int
    output: str
    """stdout and stderr together, in order (what the pod log shows)."""


@dataclass
class SetupSandbox:
    """A working dir with the WordPress files, a PATH with the stand-ins, and the script."""

    root: Path
    password: str

    @property
    def state(self) -> Path:
        return self.root / "state"

    def run(self, **overrides: str) -> Run:
        html = self.root / "html"
        env = {
            "PATH": f"{self.root / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.root),
            "STANDIN_STATE": str(self.state),
            "STORE_URL": "http://shop.sim.storestack.test",
            "STORE_TITLE": "Bob's Shop",
            "ADMIN_USER": "admin",
            "ADMIN_EMAIL": "bob@example.org",
            "WP_ADMIN_PASSWORD": self.password,
            "WOOCOMMERCE_VERSION": "10.3.5",
            "STORE_COUNTRY": "US:CA",
            "STORE_CURRENCY": "USD",
            "STORE_ADDRESS": "1 Example Street",
            "STORE_CITY": "San Francisco",
            "STORE_POSTCODE": "94103",
            "SAMPLE_PRODUCT": "yes",
            "SAMPLE_PRODUCT_SLUG": SAMPLE_PRODUCT_SLUG,
            "SETUP_WAIT_SECONDS": "0",
            "WORDPRESS_DB_HOST": "mysql:3306",
            "WORDPRESS_DB_USER": "wordpress",
            "WORDPRESS_DB_PASSWORD": "db-password",
            "WORDPRESS_DB_NAME": "wordpress",
            **overrides,
        }
        done = subprocess.run(
            [SHELL, str(self.root / "setup.sh")],
            cwd=html,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
            check=False,
        )
        return Run(returncode=done.returncode, output=done.stdout)

    def argv_log(self) -> list[str]:
        return (self.state / "argv.log").read_text().splitlines()

    def writes(self) -> list[str]:
        path = self.state / "writes.log"
        return path.read_text().splitlines() if path.exists() else []

    def option(self, name: str) -> str:
        return (self.state / "options" / name).read_text()


def _password() -> str:
    # Like stacks.program's: letters and digits. Long and random, so it cannot appear by chance.
    return "Pw" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))


@pytest.fixture
def sandbox(tmp_path: Path) -> SetupSandbox:
    if not Path(SHELL).exists():  # pragma: no cover - every supported host has one
        pytest.fail(f"{SHELL} is missing")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("wp", "php"):
        target = bin_dir / name
        shutil.copyfile(STANDIN, target)
        target.chmod(0o755)
    html = tmp_path / "html"
    (html / "wp-includes").mkdir(parents=True)
    (html / "wp-config.php").write_text("<?php // written by the WordPress container\n")
    (html / "wp-includes" / "version.php").write_text("<?php $wp_version = '6.8.3';\n")
    (tmp_path / "setup.sh").write_text(SETUP_SCRIPT)
    return SetupSandbox(root=tmp_path, password=_password())


def test_setup_script_succeeds_on_its_first_run(sandbox: SetupSandbox) -> None:
    first = sandbox.run()
    assert first.returncode == 0, first.output
    assert "[storestack-setup] done" in first.output
    # WooCommerce's task lists are hidden through the option it really reads ...
    hidden = (sandbox.state / "hidden_task_lists").read_text().split()
    assert sorted(hidden) == ["extended", "setup"]
    # ... and never through the deprecated ones, which WooCommerce refuses.
    calls = sandbox.argv_log()
    for deprecated in ("woocommerce_task_list_hidden ", "woocommerce_extended_task_list_hidden "):
        assert not [c for c in calls if f"option update {deprecated}" in c]
    # The rest of the shop was set up.
    assert sandbox.option("permalink_structure") == "/%postname%/"
    assert sandbox.option("woocommerce_coming_soon") == "no"
    assert '"enabled":"yes"' in sandbox.option("woocommerce_cod_settings")
    assert (sandbox.state / "active" / "woocommerce").exists()
    assert (sandbox.state / "products" / SAMPLE_PRODUCT_SLUG).exists()


def test_titles_and_emails_reach_wp_as_data_never_as_shell(sandbox: SetupSandbox) -> None:
    marker = sandbox.root / "pwned"
    title = f"Shop $(touch {marker}) `touch {marker}` ; touch {marker} \"q\" 'q' & | > < * ? ~ \\"
    email = "o'neil`{marker.name}`$x@example.org"
    run = sandbox.run(STORE_TITLE=title, ADMIN_EMAIL=email)
    assert run.returncode == 0, run.output
    assert not marker.exists()
    install = [c for c in sandbox.argv_log() if c.startswith("wp core install")]
    assert install and f"--title={title}" in install[0] and f"--admin_email={email}" in install[0], install


def test_setup_script_rerun_succeeds_and_changes_nothing(sandbox: SetupSandbox) -> None:
    first = sandbox.run()
    assert first.returncode == 0, first.output
    writes = sandbox.writes()
    assert writes, "the first run changed nothing?"
    second = sandbox.run()
    assert second.returncode == 0, second.output
    assert sandbox.writes() == writes, "a re-run changed the store"


def test_a_changed_title_and_email_reach_the_installed_store(sandbox: SetupSandbox) -> None:
    assert sandbox.run(STORE_TITLE="Old Shop", ADMIN_EMAIL="old@example.org").returncode == 0
    assert (sandbox.option("blogname"), sandbox.option("admin_email")) == ("Old Shop", "old@example.org")
    writes = sandbox.writes()
    changed = sandbox.run(STORE_TITLE="New Shop", ADMIN_EMAIL="new@example.org")
    assert changed.returncode == 0, changed.output
    assert (sandbox.option("blogname"), sandbox.option("admin_email")) == ("New Shop", "new@example.org")
    assert sandbox.writes()[len(writes) :] == ["option blogname", "option admin_email"]


def test_a_woocommerce_upgrade_runs_in_maintenance_mode_which_always_ends(sandbox: SetupSandbox) -> None:
    assert sandbox.run().returncode == 0
    assert "maintenance on" not in sandbox.writes()  # a first install: nothing to protect yet
    upgrade = sandbox.run(WOOCOMMERCE_VERSION="10.4.0")
    assert upgrade.returncode == 0, upgrade.output
    writes = sandbox.writes()
    on, installed, off = (
        writes.index(w) for w in ("maintenance on", "plugin woocommerce 10.4.0 installed", "maintenance off")
    )
    assert on < installed < off
    failed = sandbox.run(WOOCOMMERCE_VERSION="0.0.0")  # the download fails
    assert failed.returncode != 0 and "Download failed" in failed.output
    assert sandbox.writes()[-1] == "maintenance off"  # the site is not left in maintenance
    assert not (sandbox.state / "maintenance").exists()


def test_setup_script_keeps_the_admin_password_out_of_logs_and_argv(sandbox: SetupSandbox) -> None:
    runs = [sandbox.run(), sandbox.run()]
    for run in runs:
        assert run.returncode == 0, run.output
        assert sandbox.password not in run.output
    # WordPress got the password (on stdin) ...
    assert (sandbox.state / "admin_password").read_text() == sandbox.password
    # ... and no argv of any stand-in call held it, nor any process's while WordPress was installed.
    calls = sandbox.argv_log()
    assert any(c.startswith("wp core install ") for c in calls)
    assert any(c.startswith("php -r ") for c in calls)
    leaking = [c for c in calls if sandbox.password in c]
    assert leaking == []
    assert not (sandbox.state / "argv_leaks").exists(), (sandbox.state / "argv_leaks").read_text()


def test_setup_script_still_shows_errors(sandbox: SetupSandbox) -> None:
    # An install that fails must say why in the log: only WP-CLI's stdout is discarded.
    (sandbox.root / "bin" / "wp").write_text(
        "#!/bin/sh\n"
        'case "$1 $2" in\n'
        '  "core is-installed") exit 1 ;;\n'
        '  "core install") echo "Error: Error establishing a database connection." >&2; exit 1 ;;\n'
        "esac\n"
        "exit 0\n"
    )
    run = sandbox.run()
    assert run.returncode != 0
    assert "Error establishing a database connection" in run.output


def test_setup_started_before_wordpress_waits_for_its_files(sandbox: SetupSandbox) -> None:
    # The Job starts beside the WordPress pod (not after its await): until the WordPress container
    # has written wp-config.php, the script waits, then goes on.
    config = sandbox.root / "html" / "wp-config.php"
    text = config.read_text()
    config.unlink()
    writer = threading.Timer(3.0, config.write_text, args=(text,))
    writer.start()
    try:
        run = sandbox.run(SETUP_WAIT_SECONDS="60")
    finally:
        writer.cancel()
    assert run.returncode == 0, run.output
    assert "waiting for wp-config.php (written by the WordPress container)" in run.output
    assert "[storestack-setup] done" in run.output


def test_setup_gives_up_when_wordpress_never_writes_its_files(sandbox: SetupSandbox) -> None:
    (sandbox.root / "html" / "wp-config.php").unlink()
    run = sandbox.run(SETUP_WAIT_SECONDS="4")
    assert run.returncode == 1
    assert "gave up waiting for wp-config.php (written by the WordPress container) after 4s" in run.output
