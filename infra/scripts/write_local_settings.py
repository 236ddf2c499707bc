"""azd postprovision hook: put the provisioned endpoints into local.settings.json.

azd runs hooks with the environment's values (main.bicep's outputs) as environment variables.
The file is created from local.settings.sample.json when missing; the backends stay the embedded
ones, so `make run` behaves as before. To run locally against Azure, set STORAGE_BACKEND=cosmos
(and/or QUEUE_BACKEND=servicebus, which competes with the deployed app for messages): the app
then signs in as you (`az login`), and AZURE_PRINCIPAL_ID was given the data roles. Standard
library only: it runs before any virtual environment exists.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# local.settings.json name <- azd environment value (main.bicep output)
FROM_AZURE = {
    "COSMOS_ENDPOINT": "COSMOS_ENDPOINT",
    "COSMOS_DATABASE": "COSMOS_DATABASE",
    "ServiceBusConnection__fullyQualifiedNamespace": "SERVICEBUS_NAMESPACE",
    "ENTRA_TENANT_ID": "ENTRA_TENANT_ID",
    "AUTH_AUDIENCE": "AUTH_AUDIENCE",
}


def main() -> None:
    target = ROOT / "local.settings.json"
    source = target if target.is_file() else ROOT / "local.settings.sample.json"
    document = json.loads(source.read_text(encoding="utf-8"))
    values = document.setdefault("Values", {})
    for name, variable in FROM_AZURE.items():
        if os.environ.get(variable):
            values[name] = os.environ[variable]
    # Locally the app signs in as the developer, not as the app's managed identity.
    values["AZURE_CLIENT_ID"] = ""
    values["COSMOS_KEY"] = ""
    target.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"{target.name}: Azure endpoints written (backends unchanged: see docs/deploy.md)")


if __name__ == "__main__":
    main()
