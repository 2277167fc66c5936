"""deploy/compose.yaml: Docker cannot run here, so its structure is checked instead — the services
and their health checks, what starts after what, the volumes, every REPO_ variable a real setting,
every command one the CLI accepts, every Python health check compilable."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from repo.config import Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())


def test_the_services_of_the_production_profile(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "opensearch", "minio", "bucket", "migrate", "web1", "web2", "worker"} <= set(services)
    long_running = [name for name, s in services.items() if s.get("restart") != "no" and name != "bucket"]
    for name in long_running:
        check = services[name].get("healthcheck")
        assert check and check["test"][0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"
    for name in ("web1", "web2", "worker"):
        service = services[name]
        assert service["environment"]["REPO_WORKER"] == "external"  # web processes do no background work
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert service["depends_on"]["bucket"] == {"condition": "service_completed_successfully"}
        assert service["depends_on"]["opensearch"] == {"condition": "service_healthy"}
    assert services["migrate"]["command"] == ["repo", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["web1"]["environment"]["REPO_SECRET_KEY"] == services["worker"]["environment"]["REPO_SECRET_KEY"]
    assert {p.split(":")[0] for s in ("web1", "web2") for p in services[s]["ports"]} == {"8001", "8002"}


def test_volumes_are_declared_and_keep_the_data(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    used = {v.split(":")[0] for s in compose["services"].values() for v in s.get("volumes", [])}
    assert used <= declared and declared <= used
    mounts = {name: [v.split(":")[1] for v in s.get("volumes", [])] for name, s in compose["services"].items()}
    assert mounts["postgres"] == ["/var/lib/postgresql/data"] and mounts["minio"] == ["/data"]
    assert mounts["opensearch"] == ["/usr/share/opensearch/data"]


def test_every_repo_variable_is_a_setting_and_every_command_parses(compose: dict[str, Any]) -> None:
    import click
    import typer

    from repo.cli import app

    fields = {f"REPO_{name.upper()}" for name in Settings.model_fields}
    command = typer.main.get_command(app)
    for name, service in compose["services"].items():
        for variable in service.get("environment", {}):
            if variable.startswith("REPO_"):
                assert variable in fields, f"{name}: {variable} is not a setting"
        argv = service.get("command")
        if argv and argv[0] == "repo":
            with command.make_context("repo", list(argv[1:]), resilient_parsing=False) as context:
                sub = command.get_command(context, argv[1])
                assert sub is not None, argv
                if isinstance(sub, click.Group):
                    leaf = sub.get_command(context, argv[2])
                    assert leaf is not None, argv
                    leaf.make_context(argv[2], list(argv[3:]))
                else:
                    sub.make_context(argv[1], list(argv[2:]))  # raises on an unknown option
        check = service.get("healthcheck", {}).get("test", [])
        if check[1:3] == ["python", "-c"]:
            compile(check[3], f"{name} health check", "exec")
        elif check[:1] == ["CMD-SHELL"]:
            assert shlex.split(check[1])


def test_the_image_serves_and_the_dockerfile_has_what_backups_need() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "postgresql-client" in dockerfile  # pg_dump and pg_restore for `repo backup` / `repo restore`
    assert "HEALTHCHECK" in dockerfile and "/health" in dockerfile
    assert 'CMD ["repo", "serve"' in dockerfile
