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
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from checkov.bicep.parser import Parser
from packaging.specifiers import SpecifierSet

from functions.queue_triggers import CONNECTION
from shared import telemetry
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
# Read by the Functions host and its extensions, not by shared/settings.py (the connection string
# by shared/telemetry_setup.py too, which exports the app's spans and metrics with it).
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
    # The one secret an app setting holds comes from Key Vault, read with the app's identity.
    assert settings["CHAT_TOKEN_SECRET"] == "chatTokenSecretReference"
    reference = api["variables"]["chatTokenSecretReference"]["value"]
    assert reference.startswith("@Microsoft.KeyVault(SecretUri=")
    site = unwrap(api["resources"]["site"]["config"])
    assert site["properties"]["keyVaultReferenceIdentity"] == "identityId"


def test_the_runtime_is_the_python_the_project_is_built_on() -> None:
    sample = json.loads((ROOT / "local.settings.sample.json").read_text(encoding="utf-8"))
    api = parsed(INFRA / "app" / "api.bicep")
    site = unwrap(api["resources"]["site"]["config"])
    runtime = site["properties"]["functionAppConfig"]["runtime"]
    assert runtime == {
        "name": sample["Values"]["FUNCTIONS_WORKER_RUNTIME"],
        "version": "pythonVersion",
    }
    main = parsed(INFRA / "main.bicep")
    assert main["modules"]["api"]["config"]["params"]["pythonVersion"] == "pythonVersion"
    version = main["variables"]["pythonVersion"]["value"]
    tools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    assert version == tools["mypy"]["python_version"]  # the version the code is checked for
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert SpecifierSet(project["requires-python"]).contains(f"{version}.0")


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
        "defaultMessageTimeToLive": "messageTimeToLive",
        "deadLetteringOnMessageExpiration": True,
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


# --- what Azure Resource Manager accepts --------------------------------------------------------

# Site properties Flex Consumption refuses (ARM error 51021) or ignores: "Flex Consumption plan
# deprecations" in the Functions app settings reference, and the siteConfig properties Azure's
# verified module leaves out for Flex Consumption sites.
FLEX_REJECTED_SITE_PROPERTIES = {
    "alwaysOn",
    "containerSize",
    "ftpsState",
    "functionAppScaleLimit",
    "functionsRuntimeScaleMonitoringEnabled",
    "isReserved",
    "isXenon",
    "javaContainer",
    "javaContainerVersion",
    "javaVersion",
    "linuxFxVersion",
    "netFrameworkVersion",
    "nodeVersion",
    "phpVersion",
    "powerShellVersion",
    "preWarmedInstanceCount",
    "pythonVersion",
    "use32BitWorkerProcess",
    "windowsFxVersion",
}
FLEX_REJECTED_APP_SETTINGS = {
    "FUNCTIONS_EXTENSION_VERSION",
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_WORKER_RUNTIME_VERSION",
    "FUNCTIONS_MAX_HTTP_CONCURRENCY",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_NODE_DEFAULT_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
    "WEBSITE_TIME_ZONE",
}


def test_the_site_sets_nothing_flex_consumption_rejects() -> None:
    site = unwrap(parsed(INFRA / "app" / "api.bicep")["resources"]["site"]["config"])
    given = {name.lower() for name in site["properties"]} | {
        name.lower() for name in site["properties"].get("siteConfig", {})
    }
    assert given.isdisjoint(p.lower() for p in FLEX_REJECTED_SITE_PROPERTIES)
    assert set(app_settings()).isdisjoint(FLEX_REJECTED_APP_SETTINGS)


def test_publishing_credential_policies_carry_a_location() -> None:
    resources = parsed(INFRA / "app" / "api.bicep")["resources"]
    policies = [
        unwrap(r["config"])
        for r in resources.values()
        if r["type"] == "Microsoft.Web/sites/basicPublishingCredentialsPolicies"
    ]
    assert {p["name"] for p in policies} == {"ftp", "scm"}
    for policy in policies:
        assert policy["location"] == "location"
        assert policy["properties"] == {"allow": False}


def test_the_deploying_principal_type_comes_from_azd() -> None:
    main = parsed(INFRA / "main.bicep")
    principal_type = main["parameters"]["principalType"]
    assert principal_type["default"] == "User"
    given = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert given["principalType"] == {"value": "${AZURE_PRINCIPAL_TYPE=User}"}
    # A pipeline's service principal would fail with UnmatchedPrincipalType on a fixed 'User'.
    for path in BICEP_FILES:
        assert "principalType: 'User'" not in path.read_text(encoding="utf-8"), path.name
    for name, module in main["modules"].items():
        params = unwrap(module["config"])["params"]
        for key_name in ("developerPrincipalType", "secretsOfficerPrincipalType"):
            if key_name in params:
                assert params[key_name] == "principalType", name


def test_the_deploying_person_gets_data_access_only_when_asked() -> None:
    main = parsed(INFRA / "main.bicep")
    assert main["parameters"]["principalDataAccess"]["default"] == "auto"
    assert main["parameters"]["environmentType"]["default"] == "dev"
    source = (INFRA / "main.bicep").read_text(encoding="utf-8")
    assert (
        "var grantPrincipalDataAccess = !empty(principalId) && (principalDataAccess == 'on' || "
        "(principalDataAccess == 'auto' && environmentType == 'dev'))"
    ) in source
    assert main["variables"]["dataPrincipalId"]["value"]["operator"]["operands"] == {
        "condition": "grantPrincipalDataAccess",
        "true_value": "principalId",
        "false_value": "",
    }
    granted = {
        name: unwrap(module["config"])["params"][key_name]
        for name, module in main["modules"].items()
        for key_name in ("developerPrincipalId", "secretsOfficerPrincipalId")
        if key_name in unwrap(module["config"])["params"]
    }
    assert granted == {
        "storage": "dataPrincipalId",
        "attachmentsStorage": "dataPrincipalId",
        "cosmos": "dataPrincipalId",
        "serviceBus": "dataPrincipalId",
        "keyVault": "dataPrincipalId",
    }
    given = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert given["environmentType"] == {"value": "${AZURE_ENV_TYPE=dev}"}
    assert given["principalDataAccess"] == {"value": "${PRINCIPAL_DATA_ACCESS=auto}"}


# --- roles --------------------------------------------------------------------------------------

ROLE = {
    "storage_blob_data_owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "storage_table_data_contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "storage_queue_data_contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "storage_blob_data_contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "service_bus_data_owner": "090c5cfd-751d-490a-894a-3ce6f1109419",
    "contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
}


def role_assignments(path: Path) -> dict[str, dict[str, Any]]:
    return {
        name: resource["config"]
        for name, resource in parsed(path)["resources"].items()
        if resource["type"] == "Microsoft.Authorization/roleAssignments"
    }


def test_the_app_identity_holds_every_storage_role_the_host_needs() -> None:
    module = parsed(INFRA / "core" / "storage" / "deployment-storage.bicep")
    assert module["variables"]["dataRoles"]["value"] == [
        ROLE["storage_blob_data_owner"],
        ROLE["storage_table_data_contributor"],
        ROLE["storage_queue_data_contributor"],
    ]
    app = role_assignments(INFRA / "core" / "storage" / "deployment-storage.bicep")["appDataRoles"]
    assert app["loop_type"]["detail"]["array_name"] == "dataRoles"
    assert unwrap(app)["properties"]["principalId"] == "appPrincipalId"


def test_agents_files_live_apart_reached_by_identity_and_fetched_by_short_sas() -> None:
    path = INFRA / "core" / "storage" / "attachments-storage.bicep"
    account = unwrap(parsed(path)["resources"]["storage"]["config"])["properties"]
    assert account["allowSharedKeyAccess"] is False  # only user-delegation SAS can be made
    assert account["allowBlobPublicAccess"] is False
    assert account["sasPolicy"] == {
        "expirationAction": "Block",
        "sasExpirationPeriod": "1.00:00:00",
    }
    app = unwrap(role_assignments(path)["appBlobData"])["properties"]
    assert app["principalId"] == "appPrincipalId"
    assert (
        parsed(path)["variables"]["blobDataContributor"]["value"]
        == ROLE["storage_blob_data_contributor"]
    )
    settings = app_settings()
    assert settings["ATTACHMENT_STORAGE"] == "azure"
    assert settings["BLOB_ACCOUNT_URL"] == "attachmentsBlobEndpoint"
    # The app's URL lifetime fits within what the account accepts.
    assert int(settings["ATTACHMENT_URL_LIFETIME_SECONDS"]) <= 24 * 3600


def test_the_app_identity_owns_the_service_bus_data() -> None:
    path = INFRA / "core" / "messaging" / "servicebus.bicep"
    module = parsed(path)
    assert module["variables"]["roles"]["value"]["owner"] == ROLE["service_bus_data_owner"]
    app = [
        unwrap(config)
        for config in role_assignments(path).values()
        if unwrap(config)["properties"]["principalId"] == "appPrincipalId"
    ]
    assert len(app) == 1
    assert app[0]["properties"]["roleDefinitionId"]["function"]["parameters"][
        "resource_name_1"
    ] == {
        "operator": {
            "type": "property_accessor",
            "operands": {"operand_1": "roles", "operand_2": "owner"},
        }
    }


def test_the_acs_sender_role_cannot_reach_the_keys() -> None:
    path = INFRA / "core" / "communication" / "communication-services.bicep"
    resources = parsed(path)["resources"]
    role = unwrap(resources["smsSender"]["config"])["properties"]
    (permissions,) = role["permissions"]
    assert permissions["actions"] == [
        "Microsoft.Communication/CommunicationServices/Read",
        "Microsoft.Communication/CommunicationServices/Write",
    ]
    assert permissions["dataActions"] == []
    (scope,) = role["assignableScopes"]
    assert scope["function"]["type"] == "resource_group"
    assert parsed(path)["parameters"]["senderRole"]["default"] == "sms-sender"
    for bicep in BICEP_FILES:
        assert ROLE["contributor"] not in bicep.read_text(encoding="utf-8"), bicep.name


# --- Event Grid ---------------------------------------------------------------------------------


def test_event_grid_dead_letters_to_blob_and_delivers_with_entra_id() -> None:
    events = parsed(INFRA / "app" / "acs-events.bicep")
    subscription = unwrap(events["resources"]["subscription"]["config"])["properties"]
    dead_letter = subscription["deadLetterWithResourceIdentity"]
    assert dead_letter["identity"] == {"type": "SystemAssigned"}
    assert dead_letter["deadLetterDestination"] == {
        "endpointType": "StorageBlob",
        "properties": {
            "resourceId": "deadLetterStorageAccountId",
            "blobContainerName": "deadLetterContainerName",
        },
    }
    delivery = subscription["destination"]["properties"]["function"]["parameters"]
    assert delivery["arg_1"] == "entraDelivery"
    entra = events["variables"]["entraDelivery"]["value"]["operator"]["operands"]["false_value"]
    assert entra == {
        "azureActiveDirectoryApplicationIdOrUri": "entraApplicationIdOrUri",
        "azureActiveDirectoryTenantId": "entraTenantId",
    }
    # The secret stays as a fallback: sent as a header whenever one is given.
    assert "deliveryAttributeMappings" in delivery["arg_2"]

    main = parsed(INFRA / "main.bicep")
    params = unwrap(main["modules"]["acsEvents"]["config"])["params"]
    assert params["entraApplicationIdOrUri"]["operator"]["operands"] == {
        "condition": "acsEventEntraDelivery",
        "true_value": "authAudience",
        "false_value": "",
    }
    assert params["deadLetterContainerName"] == "deadLetterContainerName"
    assert main["parameters"]["acsEventEntraDelivery"]["default"] is True

    storage = parsed(INFRA / "core" / "storage" / "deployment-storage.bicep")["resources"]
    container = storage["storage__blobServices__deadLetterContainer"]["config"]
    assert container["name"] == "deadLetterContainerName"
    comms = INFRA / "core" / "communication" / "communication-services.bicep"
    writer = unwrap(role_assignments(comms)["deadLetterWriter"])["properties"]
    assert writer["roleDefinitionId"]["function"]["parameters"]["resource_name_1"] == (
        "storageBlobDataContributor"
    )
    assert (
        parsed(comms)["variables"]["storageBlobDataContributor"]["value"]
        == (ROLE["storage_blob_data_contributor"])
    )


# --- alerts and diagnostics ---------------------------------------------------------------------


def test_alerts_mail_the_operator_about_dead_letters_failures_and_refused_sends() -> None:
    main = parsed(INFRA / "main.bicep")
    module = main["modules"]["alerts"]["config"]
    assert "condition" not in module, "the alerts exist in every environment"
    assert module["params"]["alertEmail"] == "alertEmail"
    assert module["params"]["alertActionGroupId"] == "alertActionGroupId"
    given = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert given["alertEmail"] == {"value": "${ALERT_EMAIL=}"}
    assert given["alertActionGroupId"] == {"value": "${ALERT_ACTION_GROUP_ID=}"}
    queue_names = parsed(INFRA / "core" / "messaging" / "servicebus.bicep")["outputs"]["queueNames"]
    assert queue_names["value"]["loop_type"]["detail"]["array_name"] == "workQueues"

    alerts = parsed(INFRA / "core" / "monitor" / "alerts.bicep")
    group = unwrap(alerts["resources"]["actionGroup"]["config"])["properties"]
    assert group["emailReceivers"] == "emailReceivers"
    receivers = alerts["variables"]["emailReceivers"]["value"]["operator"]["operands"]
    assert receivers["false_value"][0]["emailAddress"] == "alertEmail"
    # Every alert notifies the deployment's group, and the platform team's when given.
    notified = alerts["variables"]["actionGroupIds"]["value"]["function"]
    assert notified["type"] == "concat"
    own, theirs = notified["parameters"].values()
    assert own == [
        {
            "operator": {
                "type": "property_accessor",
                "operands": {"operand_1": "actionGroup", "operand_2": "id"},
            }
        }
    ]
    assert theirs["operator"]["operands"]["false_value"] == ["alertActionGroupId"]

    per_queue = alerts["resources"]["deadLetters"]["config"]
    assert per_queue["loop_type"]["detail"] == {"item_name": "queue", "array_name": "queueNames"}
    (criterion,) = unwrap(per_queue)["properties"]["criteria"]["allOf"]
    assert criterion["metricName"] == "DeadletteredMessages"
    assert criterion["dimensions"] == [
        {"name": "EntityName", "operator": "Include", "values": ["queue"]}
    ]
    assert (criterion["operator"], criterion["threshold"]) == ("GreaterThan", 0)
    actions = unwrap(per_queue)["properties"]["actions"]
    assert actions["loop_type"]["detail"] == {"item_name": "id", "array_name": "actionGroupIds"}
    assert actions["config"] == {"actionGroupId": "id"}

    for rule, query in {
        "failureRate": "failureRateQuery",
        "sendFailures": "sendFailuresQuery",
    }.items():
        properties = unwrap(alerts["resources"][rule]["config"])["properties"]
        assert properties["scopes"] == ["applicationInsightsId"]
        assert properties["criteria"]["allOf"][0]["query"] == query
        assert properties["actions"] == {"actionGroups": "actionGroupIds"}
    assert alerts["variables"]["failureRateQuery"]["value"].startswith("requests |")


def test_the_send_failure_alert_reads_the_metrics_the_app_records() -> None:
    """The alert's query reads the send counters shared/telemetry.py records, by the provider
    dimension it sets, as a failure rate over the attempts."""
    alerts = parsed(INFRA / "core" / "monitor" / "alerts.bicep")
    query = alerts["variables"]["sendFailuresQuery"]["value"]
    assert query.startswith("customMetrics |")
    assert {telemetry.SMS_SENT, telemetry.SMS_SEND_FAILURES} == set(
        re.findall(r'name == "([^"]+)"', query)
    )
    assert f'customDimensions["{telemetry.PROVIDER}"]' in query
    assert "failed * 100.0 / (failed + sent) > ${sendFailureRatePercent}" in query
    assert "failed + sent >= ${sendFailureMinimumAttempts}" in query
    for name in ("sendFailureRatePercent", "sendFailureMinimumAttempts"):
        assert isinstance(alerts["parameters"][name]["default"], int)


@pytest.mark.parametrize(
    ("module", "target"),
    [
        ("core/messaging/servicebus.bicep", "namespace"),
        ("core/database/cosmos-nosql.bicep", "account"),
        ("core/communication/communication-services.bicep", "systemTopic"),
    ],
)
def test_logs_go_to_log_analytics(module: str, target: str) -> None:
    template = parsed(INFRA / module)
    (settings,) = [
        unwrap(r["config"])
        for r in template["resources"].values()
        if r["type"] == "Microsoft.Insights/diagnosticSettings"
    ]
    assert settings["scope"] == target
    assert settings["properties"]["workspaceId"] == "logAnalyticsWorkspaceId"
    assert {"categoryGroup": "allLogs", "enabled": True} in settings["properties"]["logs"]
    main = parsed(INFRA / "main.bicep")
    (caller,) = [
        unwrap(m["config"]) for m in main["modules"].values() if m["detail"]["path"] == module
    ]
    assert caller["params"]["logAnalyticsWorkspaceId"]["operator"]["operands"] == {
        "operand_1": "monitoring",
        "operand_2": {
            "operator": {
                "type": "property_accessor",
                "operands": {"operand_1": "outputs", "operand_2": "logAnalyticsWorkspaceId"},
            }
        },
    }


def test_host_json_keeps_every_request_in_application_insights() -> None:
    host = json.loads((ROOT / "host.json").read_text(encoding="utf-8"))
    log_levels = {k.lower(): v for k, v in host["logging"]["logLevel"].items()}
    # Host.Results feeds the requests table: above Information it keeps failures only.
    assert log_levels.get("host.results", "Information") in ("Trace", "Debug", "Information")
    sampling = host["logging"]["applicationInsights"]["samplingSettings"]
    assert "Request" in sampling["excludedTypes"].split(";")


# --- queues, Key Vault, networking --------------------------------------------------------------


def test_queued_messages_expire_into_the_dead_letter_queue_after_a_documented_time() -> None:
    module = parsed(INFRA / "core" / "messaging" / "servicebus.bicep")
    ttl = module["parameters"]["messageTimeToLive"]["default"]
    assert ttl == "P7D"
    module_params = parsed(INFRA / "main.bicep")["modules"]["serviceBus"]["config"]["params"]
    assert "messageTimeToLive" not in module_params
    deploy = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    assert "`defaultMessageTimeToLive` `P7D`" in deploy


def test_key_vault_holds_only_what_app_settings_reference() -> None:
    main = parsed(INFRA / "main.bicep")
    written = {
        unwrap(m["config"])["params"]["name"]
        for m in main["modules"].values()
        if m["detail"]["path"] == "core/security/keyvault-secret.bicep"
    }
    assert written == {"chatTokenSecretName"}
    referenced = {
        name for name, value in app_settings().items() if str(value).endswith("Reference")
    }
    assert referenced == {"CHAT_TOKEN_SECRET"}
    # No setting can resolve to a literal "@Microsoft.KeyVault(...)" when its secret is unset.
    api = parsed(INFRA / "app" / "api.bicep")
    references = {n for n, v in api["variables"].items() if "@Microsoft.KeyVault" in str(v)}
    assert references == {"chatTokenSecretReference"}


def test_a_soft_deleted_key_vault_can_be_recovered() -> None:
    vault = parsed(INFRA / "core" / "security" / "keyvault.bicep")
    mode = vault["parameters"]["createMode"]
    assert mode["default"] == "default"
    assert {"type": "allowed", "argument": ["default", "recover"]} in mode["decorators"]
    properties = unwrap(vault["resources"]["vault"]["config"])["properties"]
    assert properties["createMode"] == "createMode"
    assert properties["enablePurgeProtection"] is True
    main = parsed(INFRA / "main.bicep")
    assert main["modules"]["keyVault"]["config"]["params"]["createMode"] == "keyVaultCreateMode"
    given = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert given["keyVaultCreateMode"] == {"value": "${KEY_VAULT_CREATE_MODE=default}"}


def test_vnet_enabled_puts_every_data_service_behind_a_private_endpoint() -> None:
    main = parsed(INFRA / "main.bicep")
    assert main["parameters"]["vnetEnabled"]["default"] is False
    endpoints = main["variables"]["privateEndpoints"]["value"]
    services = main["variables"]["privateEndpointServices"]["value"]
    assert {e["groupId"] for e in endpoints} == {
        "Sql",
        "namespace",
        "blob",
        "queue",
        "table",
        "vault",
    }
    assert {e["name"] for e in endpoints} == set(services)
    assert {s["operator"]["operands"]["operand_1"] for s in services.values()} == {
        "cosmos",
        "serviceBus",
        "storage",
        "keyVault",
    }
    module = main["modules"]["privateEndpoint"]["config"]
    assert module["condition"] == "vnetEnabled"
    assert module["loop_type"]["detail"]["array_name"] == "privateEndpoints"
    for name in ("storage", "cosmos", "serviceBus", "keyVault"):
        assert main["modules"][name]["config"]["params"]["privateNetworking"] == "vnetEnabled"
    subnet = main["modules"]["api"]["config"]["params"]["virtualNetworkSubnetId"]
    assert subnet["operator"]["operands"]["condition"] == "vnetEnabled"
    vnet = unwrap(
        parsed(INFRA / "core" / "networking" / "vnet.bicep")["resources"]["vnet"]["config"]
    )
    app_subnet = vnet["properties"]["subnets"][0]["properties"]
    assert app_subnet["delegations"][0]["properties"]["serviceName"] == "Microsoft.App/environments"
    # Only Premium Service Bus takes a private endpoint.
    namespace = parsed(INFRA / "core" / "messaging" / "servicebus.bicep")["resources"]["namespace"]
    sku = unwrap(namespace["config"])["sku"]["operator"]["operands"]
    assert (sku["condition"], sku["true_value"]["name"]) == ("privateNetworking", "Premium")
