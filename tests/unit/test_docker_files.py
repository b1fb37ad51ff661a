"""docker/compose.yaml and docker/Dockerfile agree with the code (no Docker engine needed)."""

from __future__ import annotations

import base64
import inspect
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

import engine.config
from engine.broker import DEFAULT_PARTITIONS
from engine.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKER_DIR = REPO_ROOT / "docker"
APP_SERVICES = ("worker", "api")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} substitution."""

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return arg if op == ":-" else ""

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", substitute, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER_DIR / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def app_env(service: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, str]:
    raw = service["environment"]
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    given = {"LOYALTY_API_KEY": "key-from-the-operator"} if env is None else env
    return {name: interpolate(str(value), given) for name, value in raw.items()}


def as_dict(environment: dict[str, Any] | list[str]) -> dict[str, str]:
    if isinstance(environment, list):
        return dict(item.split("=", 1) for item in environment)
    return {name: str(value) for name, value in environment.items()}


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DOCKER_DIR / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_compose_has_the_four_services(services: dict[str, Any]) -> None:
    assert {"kafka", "postgres", "worker", "api"} <= set(services)


def test_worker_and_api_share_broker_store_and_data_dir(services: dict[str, Any]) -> None:
    worker, api = app_env(services["worker"]), app_env(services["api"])
    for name in ("LOYALTY_BROKER", "LOYALTY_STORE_URL", "LOYALTY_DATA_DIR", "LOYALTY_API_KEY"):
        assert worker[name] == api[name], name
    assert worker["LOYALTY_BROKER"] == "kafka:9092"
    assert worker["LOYALTY_STORE_URL"] == "postgresql://postgres:postgres@postgres:5432/loyalty"
    assert worker["LOYALTY_DATA_DIR"] == "/data"


def test_every_loyalty_variable_in_compose_is_read_by_the_settings(
    services: dict[str, Any],
) -> None:
    read_by_config = set(re.findall(r"LOYALTY_[A-Z_]+", inspect.getsource(engine.config)))
    for name in APP_SERVICES:
        used = {key for key in app_env(services[name]) if key.startswith("LOYALTY_")}
        assert used, f"{name} sets no LOYALTY_ variable"
        assert used <= read_by_config, f"{name}: not read by Settings: {used - read_by_config}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_the_compose_environment_gives_a_postgres_kafka_deployment(
    name: str, services: dict[str, Any]
) -> None:
    settings = Settings.from_env(app_env(services[name]))
    assert settings.is_postgres
    assert settings.broker == "kafka:9092"
    assert settings.data_dir == Path("/data")
    assert settings.api_key == "key-from-the-operator"


def test_the_api_key_must_come_from_the_operator(services: dict[str, Any]) -> None:
    with pytest.raises(KeyError, match="LOYALTY_API_KEY"):
        app_env(services["api"], env={})


def test_the_broker_address_is_the_kafka_advertised_listener(services: dict[str, Any]) -> None:
    kafka = as_dict(services["kafka"]["environment"])
    advertised = [url.split("://", 1)[1] for url in kafka["KAFKA_ADVERTISED_LISTENERS"].split(",")]
    assert app_env(services["worker"])["LOYALTY_BROKER"] in advertised
    assert services["kafka"].get("hostname", "kafka") == "kafka"


def test_the_store_url_names_the_postgres_service_and_its_database(
    services: dict[str, Any],
) -> None:
    postgres = as_dict(services["postgres"]["environment"])
    assert services["postgres"]["image"].startswith("postgres:16")
    url = app_env(services["worker"])["LOYALTY_STORE_URL"]
    match = re.fullmatch(r"postgresql://(\w+):(\w+)@(\w+):5432/(\w+)", url)
    assert match is not None, url
    user, password, host, database = match.groups()
    assert host == "postgres"
    assert (user, password, database) == (
        postgres.get("POSTGRES_USER", "postgres"),
        postgres["POSTGRES_PASSWORD"],
        postgres["POSTGRES_DB"],
    )
    assert database == "loyalty"


def test_kafka_is_a_single_node_kraft_broker_and_controller(services: dict[str, Any]) -> None:
    kafka = services["kafka"]
    env = as_dict(kafka["environment"])
    assert kafka["image"].startswith("apache/kafka:")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    listeners = env["KAFKA_LISTENERS"].split(",")
    assert "PLAINTEXT://:9092" in listeners
    assert any(item.startswith(env["KAFKA_CONTROLLER_LISTENER_NAMES"] + "://") for item in listeners)
    assert len(base64.urlsafe_b64decode(env["CLUSTER_ID"] + "==")) == 16  # KRaft needs a UUID
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert int(env["KAFKA_NUM_PARTITIONS"]) == DEFAULT_PARTITIONS


@pytest.mark.parametrize("name", APP_SERVICES)
def test_apps_wait_for_healthy_kafka_and_postgres(name: str, services: dict[str, Any]) -> None:
    depends = services[name]["depends_on"]
    for dependency in ("kafka", "postgres"):
        assert depends[dependency]["condition"] == "service_healthy"
        assert services[dependency]["healthcheck"]["test"], dependency


def test_the_apps_run_the_loyalty_commands(services: dict[str, Any]) -> None:
    entrypoint = json.loads(dict(dockerfile_instructions())["ENTRYPOINT"])
    assert entrypoint + services["worker"]["command"] == ["loyalty", "worker"]
    api = entrypoint + services["api"]["command"]
    assert api[:2] == ["loyalty", "api"]
    assert api[api.index("--host") + 1] == "0.0.0.0"


def test_the_published_api_port_is_the_port_the_api_listens_on(services: dict[str, Any]) -> None:
    command = services["api"]["command"]
    if isinstance(command, str):
        command = shlex.split(command)
    listen_port = command[command.index("--port") + 1]
    container_ports = [str(mapping).rsplit(":", 1)[-1] for mapping in services["api"]["ports"]]
    assert container_ports == [listen_port]


def test_the_image_is_built_from_the_repository_root(services: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        build = services[name]["build"]
        context = (DOCKER_DIR / build["context"]).resolve()
        assert context == REPO_ROOT
        assert (context / build["dockerfile"]).is_file()


def test_the_dockerfile_uses_python_311_and_installs_the_project() -> None:
    instructions = dockerfile_instructions()
    images = [args.split()[0] for op, args in instructions if op == "FROM"]
    assert images and re.fullmatch(r"python:3\.11(\.\d+)?(-slim.*)?", images[-1]), images
    runs = " && ".join(args for op, args in instructions if op == "RUN")
    assert re.search(r"pip install (--\S+ )*\.(\s|$)", runs), runs
    assert dict(instructions)["ENTRYPOINT"] == '["loyalty"]'
    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "loyalty" in scripts


def test_the_build_context_keeps_what_pip_install_needs() -> None:
    ignored = (DOCKER_DIR / "Dockerfile.dockerignore").read_text().split()
    copies = [args for op, args in dockerfile_instructions() if op == "COPY"]
    assert ". ." in copies or any("pyproject.toml" in args for args in copies)
    for needed in ("pyproject.toml", "engine", "schemas"):
        assert needed not in ignored, needed
