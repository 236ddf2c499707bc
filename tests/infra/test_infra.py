"""The infrastructure as code: secure by checkov's rules, and in step with the code it deploys.

No Bicep compiler can run here, so besides checkov's security checks these tests read the
templates with checkov's own Bicep parser and check what a compiler would have caught for us
(paths of modules and loaded files, module parameters) and what no compiler checks: every app
setting the app reads is provisioned, every queue and container the app uses exists.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from checkov.bicep.parser import Parser

from functions.queue_triggers import CONNECTION
from shared.adapters.cosmos.layout import CONTAINERS
from shared.bus_messages import BUS_QUEUES
from shared.settings import Settings, setting_name

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))
CHECKOV = Path(sys.executable).with_name("checkov")

# local.settings.sample.json names that Flex Consumption spells differently.
HOST_SETTINGS_REPLACED = {
    # Not an app setting on Flex Consumption: functionAppConfig.runtime names the language.
    "FUNCTIONS_WORKER_RUNTIME": set(),
    # Identity-based host storage instead of a connection string.
    "AzureWebJobsStorage": {
        "AzureWebJobsStorage__accountName",
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
    },
}
# Read by the Functions host and its extensions, not by shared/settings.py.
HOST_SETTINGS = {
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    f"{CONNECTION}__fullyQualifiedNamespace",
    f"{CONNECTION}__credential",
    f"{CONNECTION}__clientId",
}


@cache
def parsed(path: Path) -> dict[str, Any]:
    template, _ = Parser().parse(path)
    assert template is not None, f"checkov's Bicep parser cannot read {path}"
    return dict(template)


def unwrap(config: dict[str, Any]) -> dict[str, Any]:
    """A conditional or looped declaration's own body."""
    while "config" in config and ("condition" in config or "loop_type" in config):
        config = config["config"]
    return config


def key(name: str) -> str:
    """An object key as written: quoted keys come back with their quotes."""
    return name.strip("'")


def loaded_file(value: Any) -> str | None:
    """The path of a loadJsonContent(...) expression, if the value is one."""
    if isinstance(value, dict) and value.get("function", {}).get("type") == "load_json_content":
        path: str = value["function"]["parameters"]["file_path"]
        return path
    return None


def app_settings() -> dict[str, Any]:
    variables = parsed(INFRA / "app" / "api.bicep")["variables"]
    return {key(k): v for k, v in variables["appSettings"]["value"].items()}


# --- checkov ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkov_report() -> dict[str, Any]:
    assert CHECKOV.exists(), "checkov is not installed: pip install -r requirements-dev.txt"
    completed = subprocess.run(
        [str(CHECKOV), "-d", str(INFRA), "--framework", "bicep", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    report = json.loads(completed.stdout)
    # One framework gives one report; checkov gives a list when there are several.
    assert isinstance(report, dict), report
    return report


def test_checkov_parses_every_bicep_file(checkov_report: dict[str, Any]) -> None:
    # checkov exits 0 on a file it cannot parse: only the summary tells.
    summary = checkov_report["summary"]
    assert summary["parsing_errors"] == 0, checkov_report["results"].get("parsing_errors")
    assert summary["resource_count"] > 0


def test_checkov_finds_no_failed_check(checkov_report: dict[str, Any]) -> None:
    failed = [
        f"{c['check_id']} {c['check_name']}: {c['resource']} in {c['file_path']}"
        for c in checkov_report["results"]["failed_checks"]
    ]
    assert failed == []
    assert checkov_report["summary"]["passed"] > 0


def test_every_suppression_gives_its_reason(checkov_report: dict[str, Any]) -> None:
    for check in checkov_report["results"]["skipped_checks"]:
        reason = (check["check_result"].get("suppress_comment") or "").strip()
        assert len(reason) >= 20, f"{check['check_id']} on {check['resource']}: no reason given"
    skip = re.compile(r"checkov:skip=(?P<id>[A-Z0-9_]+)(?P<rest>.*)")
    for path in BICEP_FILES:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found = skip.search(line)
            if found:
                reason = found["rest"].removeprefix(":").strip()
                assert len(reason) >= 20, f"{path.name}:{number}: {found['id']} without a reason"


# --- what a compiler would check ----------------------------------------------------------------


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_modules_and_loaded_files_exist(path: Path) -> None:
    template = parsed(path)
    for name, module in template.get("modules", {}).items():
        assert (path.parent / module["detail"]["path"]).is_file(), f"module {name}"
    for name, variable in template.get("variables", {}).items():
        loaded = loaded_file(variable["value"])
        if loaded is not None:
            assert (path.parent / loaded).is_file(), f"variable {name} loads {loaded}"


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_modules_get_the_parameters_they_declare(path: Path) -> None:
    for name, module in parsed(path).get("modules", {}).items():
        declared = parsed(path.parent / module["detail"]["path"])["parameters"]
        given = set(unwrap(module["config"])["params"])
        required = {p for p, spec in declared.items() if spec.get("default") is None}
        assert given <= set(declared), f"module {name}: unknown {given - set(declared)}"
        assert required <= given, f"module {name}: missing {required - given}"


def test_azd_parameters_are_main_bicep_parameters() -> None:
    declared = parsed(INFRA / "main.bicep")["parameters"]
    given = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    required = {p for p, spec in declared.items() if spec.get("default") is None}
    generated = {p for p in required if azd_metadata(declared[p]).get("type") == "generate"}
    assert set(given) <= set(declared)
    assert set(given).isdisjoint(generated), "azd generates these only when nothing maps them"
    assert required - generated <= set(given)


def azd_metadata(parameter: dict[str, Any]) -> dict[str, Any]:
    for decorator in parameter["decorators"]:
        if decorator["type"] == "metadata":
            found: dict[str, Any] = decorator["argument"].get("azd", {})
            return found
    return {}


def test_azure_yaml_deploys_the_tagged_function_app() -> None:
    project = yaml.safe_load((ROOT / "azure.yaml").read_text(encoding="utf-8"))
    assert project["services"] == {
        "api": {"project": ".", "language": "python", "host": "function"}
    }
    site = unwrap(parsed(INFRA / "app" / "api.bicep")["resources"]["site"]["config"])
    assert site["tags"]["function"]["parameters"]["arg_2"] == {"'azd-service-name'": "serviceName"}
    assert parsed(INFRA / "app" / "api.bicep")["parameters"]["serviceName"]["default"] == "api"
    for hook in project["hooks"].values():
        for platform in hook.values():
            script = platform["run"].split()[-1]
            assert (ROOT / script).is_file(), script


# --- code and infrastructure in step ------------------------------------------------------------


def test_every_setting_the_app_reads_is_provisioned() -> None:
    sample = json.loads((ROOT / "local.settings.sample.json").read_text(encoding="utf-8"))
    read_by_app = {setting_name(name, field) for name, field in Settings.model_fields.items()}
    expected = set(read_by_app) | HOST_SETTINGS
    for name in sample["Values"]:
        expected |= HOST_SETTINGS_REPLACED.get(name, {name})
    provisioned = set(app_settings())
    assert sorted(expected - provisioned) == [], "settings the app reads but Azure lacks"
    assert sorted(provisioned - expected) == [], "settings provisioned but read by nothing"


def test_literal_app_settings_are_valid_values() -> None:
    api = parsed(INFRA / "app" / "api.bicep")
    symbols = set(api["parameters"]) | set(api["variables"])
    settings = app_settings()
    # Plain strings that name no parameter or variable are literals (the parser gives
    # expressions as objects).
    literals: dict[str, Any] = {
        name: value
        for name, field in Settings.model_fields.items()
        if field.validation_alias is None
        and isinstance(value := settings[setting_name(name, field)], str)
        and value not in symbols
    }
    assert literals["storage_backend"] == "cosmos"
    Settings(**literals)  # raises if a value is not one the app accepts


def test_app_settings_choose_the_azure_backends() -> None:
    settings = app_settings()
    assert settings["STORAGE_BACKEND"] == "cosmos"
    assert settings["QUEUE_BACKEND"] == "servicebus"
    assert settings["SMS_SENDER"] == "providers"
    assert settings["AUTH_MODE"] == "entra"
    assert settings["COSMOS_KEY"] == ""
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings[f"{CONNECTION}__credential"] == "managedidentity"
    for name in ("AZURE_CLIENT_ID", "AzureWebJobsStorage__clientId", f"{CONNECTION}__clientId"):
        assert settings[name] == "identityClientId", name
    assert settings["PUBLIC_BASE_URL"].startswith("https://")
    api = parsed(INFRA / "app" / "api.bicep")
    # Secrets come from Key Vault, read with the app's identity.
    for name, reference in {
        "TWILIO_AUTH_TOKEN": "twilioAuthTokenReference",
        "CHAT_TOKEN_SECRET": "chatTokenSecretReference",
    }.items():
        assert settings[name] == reference
        assert api["variables"][reference]["value"].startswith("@Microsoft.KeyVault(SecretUri=")
    site = unwrap(api["resources"]["site"]["config"])
    assert site["properties"]["keyVaultReferenceIdentity"] == "identityId"


def test_the_runtime_is_the_one_local_settings_name() -> None:
    sample = json.loads((ROOT / "local.settings.sample.json").read_text(encoding="utf-8"))
    site = unwrap(parsed(INFRA / "app" / "api.bicep")["resources"]["site"]["config"])
    runtime = site["properties"]["functionAppConfig"]["runtime"]
    assert runtime == {
        "name": sample["Values"]["FUNCTIONS_WORKER_RUNTIME"],
        "version": f"{sys.version_info.major}.{sys.version_info.minor}",
    }


def test_every_work_queue_is_provisioned() -> None:
    module = parsed(INFRA / "core" / "messaging" / "servicebus.bicep")
    loaded = loaded_file(module["variables"]["workQueues"]["value"])
    assert loaded is not None
    assert (INFRA / "core" / "messaging" / loaded).resolve() == INFRA / "servicebus-queues.json"
    queues = unwrap(module["resources"]["queues"]["config"])
    assert module["resources"]["queues"]["config"]["loop_type"]["detail"]["array_name"] == (
        "workQueues"
    )
    assert queues["properties"]["function"]["parameters"]["arg_2"] == {
        "deadLetteringOnMessageExpiration": True
    }
    declared = json.loads((INFRA / "servicebus-queues.json").read_text(encoding="utf-8"))
    assert {q["name"] for q in declared["queues"]} == set(BUS_QUEUES)
    assert unwrap(module["resources"]["namespace"]["config"])["properties"]["disableLocalAuth"]


def test_every_cosmos_container_is_provisioned() -> None:
    module = parsed(INFRA / "core" / "database" / "cosmos-nosql.bicep")
    loaded = loaded_file(module["variables"]["containers"]["value"])
    assert loaded is not None
    assert (INFRA / "core" / "database" / loaded).resolve() == INFRA / "cosmos-containers.json"
    resource = module["resources"]["sqlContainers"]["config"]
    assert resource["loop_type"]["detail"]["array_name"] == "containers"
    assert unwrap(resource)["properties"] == {"resource": "container"}
    declared = json.loads((INFRA / "cosmos-containers.json").read_text(encoding="utf-8"))
    assert {c["id"] for c in declared["containers"]} == {c.name for c in CONTAINERS}
    assert unwrap(module["resources"]["account"]["config"])["properties"]["disableLocalAuth"]


def test_the_cosmos_database_is_the_one_the_app_opens() -> None:
    main = parsed(INFRA / "main.bicep")
    assert main["variables"]["cosmosDatabaseName"]["value"] == (
        Settings.model_fields["cosmos_database"].default
    )
    assert app_settings()["COSMOS_DATABASE"] == "cosmosDatabaseName"
