"""What `up` hands its children: they must agree on where the payment sandbox listens."""

from __future__ import annotations

from pathlib import Path

from bootstrap.settings import Settings
from storefront.launcher import child_environment


def test_a_sandbox_port_of_0_is_one_free_port_the_sandbox_and_its_callers_share(
    tmp_path: Path,
) -> None:
    settings = Settings.model_validate({"data_dir": tmp_path, "payments_sandbox_port": 0})

    env = child_environment(settings, {})

    port = int(env["STOREFRONT_PAYMENTS_SANDBOX_PORT"])
    assert port > 0
    assert env["STOREFRONT_PAYMENTS_URL"] == f"http://127.0.0.1:{port}"


def test_a_configured_provider_is_used_as_it_is(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "data_dir": tmp_path,
            "payments_url": "https://payments.example.com",
            "payments_sandbox_port": 8011,
        }
    )

    env = child_environment(settings, {})

    assert env["STOREFRONT_PAYMENTS_URL"] == "https://payments.example.com"
    assert env["STOREFRONT_PAYMENTS_SANDBOX_PORT"] == "8011"


def test_without_a_mail_server_the_children_send_to_the_local_catcher(tmp_path: Path) -> None:
    settings = Settings.model_validate({"data_dir": tmp_path, "smtp_port": 0})

    env = child_environment(settings, {})

    assert env["STOREFRONT_SMTP_HOST"] == "127.0.0.1"
    assert int(env["STOREFRONT_SMTP_PORT"]) > 0


def test_a_configured_mail_server_is_used_as_it_is(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {"data_dir": tmp_path, "smtp_host": "smtp.example.com", "smtp_port": 587}
    )

    env = child_environment(settings, {})

    assert "STOREFRONT_SMTP_HOST" not in env and "STOREFRONT_SMTP_PORT" not in env
