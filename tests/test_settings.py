"""Settings come from the environment (SPEC §2); production settings pass `check --deploy`."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _production_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATCHBAY_ENV_FILE": str(tmp_path / "absent.env"),
        "SECRET_KEY": base64.b64encode(os.urandom(48)).decode(),
        "PATCHBAY_ENCRYPTION_KEYS": f"prod:{base64.b64encode(os.urandom(32)).decode()}",
        "ALLOWED_HOSTS": "patchbay.example.com",
        "PATCHBAY_PUBLIC_URL": "https://patchbay.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'check.sqlite3'}",
    }


def test_production_settings_pass_the_deploy_check_with_no_warnings(tmp_path):
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], _production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deploy_check_warns_about_an_idp_over_plain_http(tmp_path):
    env = {
        **_production_env(tmp_path),
        "PATCHBAY_IDP_ISSUER": "http://idp.example.com",
        "PATCHBAY_IDP_AUDIENCE": "patchbay",
    }
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    assert "patchbay.W001" in result.stderr + result.stdout
    env["PATCHBAY_IDP_ISSUER"] = "https://idp.example.com"
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_idp_issuer_without_an_audience_refuses_to_start(tmp_path):
    env = {**_production_env(tmp_path), "PATCHBAY_IDP_ISSUER": "https://idp.example.com"}
    result = _manage(["check"], env)
    assert result.returncode != 0
    assert "PATCHBAY_IDP_AUDIENCE is required" in result.stderr


def test_it_refuses_to_start_without_a_secret_key(tmp_path):
    env = _production_env(tmp_path)
    del env["SECRET_KEY"]
    result = _manage(["check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_it_refuses_to_start_without_encryption_keys(tmp_path):
    env = _production_env(tmp_path)
    del env["PATCHBAY_ENCRYPTION_KEYS"]
    result = _manage(["check"], env)
    assert result.returncode != 0
    assert "PATCHBAY_ENCRYPTION_KEYS is required" in result.stderr


def test_debug_generates_a_development_key_into_the_env_file_with_a_warning(tmp_path):
    env_file = tmp_path / "dev.env"
    env = {
        "DEBUG": "true",
        "PATCHBAY_ENV_FILE": str(env_file),
        "DATABASE_URL": "sqlite:///:memory:",
    }
    first = _manage(["check"], env)
    assert first.returncode == 0, first.stderr
    assert "generated a development key" in first.stderr
    written = env_file.read_text()
    assert "PATCHBAY_DEV_ENCRYPTION_KEYS=dev1:" in written
    assert env_file.stat().st_mode & 0o077 == 0  # it holds a key: its owner's eyes only

    second = _manage(["check"], env)  # the key is reused, not regenerated
    assert second.returncode == 0
    assert "generated a development key" not in second.stderr
    assert env_file.read_text() == written


def test_demo_mode_refuses_to_start_on_a_reachable_server(tmp_path):
    env = {**_production_env(tmp_path), "PATCHBAY_DEMO": "true"}
    result = _manage(["check"], env)
    assert result.returncode != 0
    assert "PATCHBAY_DEMO is for a laptop" in result.stderr
    on_loopback = {**env, "PATCHBAY_PUBLIC_URL": "http://127.0.0.1:8000"}
    assert _manage(["check"], on_loopback).returncode == 0


def test_the_development_key_is_never_used_without_debug(tmp_path):
    env_file = tmp_path / "dev.env"
    debug = {"DEBUG": "true", "PATCHBAY_ENV_FILE": str(env_file), "DATABASE_URL": "sqlite://"}
    assert _manage(["check"], debug).returncode == 0  # writes the development key
    production = {**_production_env(tmp_path), "PATCHBAY_ENV_FILE": str(env_file)}
    del production["PATCHBAY_ENCRYPTION_KEYS"]
    result = _manage(["check"], production)
    assert result.returncode != 0
    assert "PATCHBAY_ENCRYPTION_KEYS is required" in result.stderr


def _loopback_redirects(env: dict[str, str]) -> str:
    result = _manage(
        [
            "shell",
            "-c",
            "from django.conf import settings; print(settings.PATCHBAY_ALLOW_LOOPBACK_REDIRECTS)",
        ],
        env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]  # after anything the shell prints first


def test_loopback_redirects_follow_debug_unless_set(tmp_path):
    production = _production_env(tmp_path)
    assert _loopback_redirects(production) == "False"
    assert _loopback_redirects({**production, "PATCHBAY_ALLOW_LOOPBACK_REDIRECTS": "true"}) == (
        "True"
    )
    debug = {**production, "DEBUG": "true"}
    assert _loopback_redirects(debug) == "True"
    assert _loopback_redirects({**debug, "PATCHBAY_ALLOW_LOOPBACK_REDIRECTS": "false"}) == "False"
