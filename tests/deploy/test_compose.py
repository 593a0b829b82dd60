"""docker-compose.yml, Dockerfile and .env.example: valid for Compose, and every input they name exists.

No Docker engine runs here, so the stack is checked statically: Debian's ``docker-compose config -q``
validates the file (variables substituted from ``.env.example``), and the YAML is parsed to check
that every bind-mounted path, image build input, environment variable and pool it names exists in
the repository and is read by the code.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
AIRFLOW_SERVICES = ("airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker")
LONG_RUNNING = ("postgres", "redis", "mailpit", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                "airflow-triggerer", "airflow-worker")
VAR = re.compile(r"(?<!\$)\$\{([A-Z0-9_]+)(:?[-?][^}]*)?\}")


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _env_example() -> dict[str, str]:
    out = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _docker_compose(tmp_path: Path, env_file: Path | None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.skip("docker-compose is not installed (make system-deps installs Debian's)")
    # A copy in an empty folder: no stray .env of a developer's is read.
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    args = [exe, "--project-directory", str(tmp_path), "-f", str(tmp_path / "docker-compose.yml")]
    if env_file is not None:
        args += ["--env-file", str(env_file)]
    return subprocess.run(args + ["config"], capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_docker_compose_config_is_valid_with_the_example_env(tmp_path):
    done = _docker_compose(tmp_path, ENV_EXAMPLE)
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    assert set(AIRFLOW_SERVICES) | {"postgres", "redis", "mailpit"} <= set(resolved["services"])
    # The SMTP connection is JSON assembled from several variables: it must still parse.
    env = resolved["services"]["airflow-worker"]["environment"]
    smtp = json.loads(env["AIRFLOW_CONN_SMTP_DEFAULT"])
    assert smtp["conn_type"] == "smtp" and smtp["host"] == "mailpit" and smtp["port"] == 1025
    assert env["AIRFLOW__CORE__FERNET_KEY"] == _env_example()["AIRFLOW_FERNET_KEY"]


def test_docker_compose_refuses_to_start_without_the_secrets(tmp_path):
    empty = tmp_path / "empty.env"
    empty.write_text("", encoding="utf-8")
    done = _docker_compose(tmp_path, empty)
    assert done.returncode != 0
    assert "in .env" in done.stderr and "PASSWORD" in done.stderr


def test_the_stack_has_the_official_shape():
    compose = _compose()
    services = compose["services"]
    for name in AIRFLOW_SERVICES:
        assert services[name]["image"].startswith("${SOCIALAUDIT_IMAGE"), name
        assert services[name]["build"]["context"] == ".", name
        assert services[name]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
    for name in LONG_RUNNING:
        assert "healthcheck" in services[name], f"{name} has no health check"
    # Scalable with --scale: no fixed container name, no fixed host port.
    assert "container_name" not in services["airflow-worker"] and "ports" not in services["airflow-worker"]
    init_env = services["airflow-init"]["environment"]
    assert init_env["_AIRFLOW_DB_MIGRATE"] == "true" and init_env["_AIRFLOW_WWW_USER_CREATE"] == "true"
    assert "pools import /opt/airflow/config/pools.json" in services["airflow-init"]["command"][1]
    assert services["airflow-apiserver"]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_every_bind_mount_source_exists():
    compose = _compose()
    mounts = []
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                mounts.append((name, source))
    assert mounts
    # logs/ and output/ are created by airflow-init on the host; everything else ships in git.
    created_at_start = {"./logs", "./output"}
    for service, source in mounts:
        if source not in created_at_start:
            assert (ROOT / source).exists(), f"{service} mounts {source}, which is not in the repository"


def test_every_variable_is_documented_in_env_example_and_used():
    text = COMPOSE.read_text(encoding="utf-8")
    used = {m.group(1): m.group(2) or "" for m in VAR.finditer(text)}
    documented = _env_example()
    for name, modifier in used.items():
        if modifier.startswith(":?") or modifier == "":
            assert name in documented, f"docker-compose.yml needs ${{{name}}}, which .env.example does not set"
    assert set(documented) <= set(used), f".env.example sets variables docker-compose.yml never reads: {set(documented) - set(used)}"


def test_socialaudit_settings_passed_to_the_containers_are_read_by_the_code():
    env = _compose()["x-airflow-common"]["environment"]
    code = "\n".join(p.read_text(encoding="utf-8") for p in [*ROOT.glob("dags/*.py"), *ROOT.glob("plugins/**/*.py")])
    for name in env:
        if name.startswith("SOCIALAUDIT_"):
            assert name in code, f"{name} is set in docker-compose.yml but nothing reads it"


def test_the_audit_store_has_its_own_database_created_by_the_init_sql():
    env = _compose()["x-airflow-common"]["environment"]
    store_db = env["SOCIALAUDIT_DB_URL"].rsplit("/", 1)[1]
    metadata_db = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].rsplit("/", 1)[1]
    assert store_db != metadata_db
    init_sql = (ROOT / "docker" / "postgres-init.sql").read_text(encoding="utf-8")
    assert re.search(rf"CREATE DATABASE {store_db};", init_sql)


def test_the_collect_pool_is_declared_in_pools_json():
    pools = json.loads((ROOT / "config" / "pools.json").read_text(encoding="utf-8"))
    env = _compose()["x-airflow-common"]["environment"]
    assert env["SOCIALAUDIT_COLLECT_POOL"] in pools
    for name, pool in pools.items():
        assert pool["slots"] >= 1 and pool["description"], name


def test_dockerfile_builds_from_airflow_3_3_2_with_requirements_and_constraints():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in dockerfile.splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0] == "FROM apache/airflow:3.3.2-python3.11"
    assert re.search(r"pip install .*-r \S*requirements\.txt -c \S*constraints\.txt", dockerfile)
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in COMPOSE.read_text(encoding="utf-8")
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    for line in lines:
        if line.startswith("COPY"):
            sources = [part for part in line.split()[1:-1] if not part.startswith("--")]
            for source in sources:
                assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
                assert source.rstrip("/") not in ignored, f"Dockerfile copies {source}, which .dockerignore excludes"


def test_the_image_installs_runtime_requirements_only():
    runtime = (ROOT / "requirements.txt").read_text(encoding="utf-8").lower()
    for tool in ("pytest", "playwright", "ruff", "mypy", "hypothesis"):
        assert not re.search(rf"^{tool}\b", runtime, re.M), f"{tool} belongs in requirements-dev.txt, not the image"
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")


def test_secrets_stay_out_of_git():
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert ignored.returncode == 0, ".env must be git-ignored"
    example = subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=ROOT)
    assert example.returncode == 1, ".env.example must be committed"
    for key, value in _env_example().items():
        if any(word in key for word in ("PASSWORD", "SECRET", "FERNET")) and key != "SMTP_PASSWORD":
            assert value.startswith("change-me"), f".env.example must not ship a usable {key}"
