"""Every setting the app reads, from environment variables and local.settings.json "Values".

Names are the ones Azure app settings use; local.settings.sample.json lists each with a safe
sample, and a test keeps the two in step.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from shared.domain.attachments import DEFAULT_ALLOWED_TYPES


class LocalSettingsJsonSource(PydanticBaseSettingsSource):
    """Reads the "Values" object of local.settings.json, as the Functions host does locally."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        path = Path(os.environ.get("LOCAL_SETTINGS_FILE", "local.settings.json"))
        self._values: dict[str, Any] = {}
        if path.is_file():
            document = json.loads(path.read_text(encoding="utf-8"))
            values = document.get("Values", {})
            if isinstance(values, dict):
                self._values = {str(k).upper(): v for k, v in values.items()}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(setting_name(field_name, field).upper()), field_name, False

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value = self._values.get(setting_name(name, field).upper())
            if value not in (None, ""):
                found[name] = value
        return found


def setting_name(field_name: str, field: FieldInfo) -> str:
    """The app setting a field is read from: its alias where Azure fixes the name."""
    return field.validation_alias if isinstance(field.validation_alias, str) else field_name.upper()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    storage_backend: Literal["sqlite", "cosmos"] = "sqlite"
    sqlite_path: Path = Path(".data/omnichannel.db")
    """The embedded store, and the local work queue whenever QUEUE_BACKEND is local."""

    cosmos_endpoint: str = ""
    cosmos_key: str = ""
    """Only for a local Cosmos protocol server: in Azure the app signs in with its identity."""
    cosmos_database: str = "omnichannel"
    cosmos_verify_tls: bool = True
    """False only for a local server's self-signed certificate."""

    queue_backend: Literal["local", "servicebus"] = "local"
    queue_max_delivery_count: int = Field(default=5, ge=1)
    queue_visibility_timeout_seconds: float = Field(default=30.0, gt=0)
    servicebus_namespace: str = Field(
        default="", validation_alias="ServiceBusConnection__fullyQualifiedNamespace"
    )
    """The same identity-based setting the Service Bus triggers bind with."""

    azure_client_id: str = ""
    """A user-assigned managed identity's client id; empty for the system-assigned one."""

    sms_sender: Literal["sandbox", "providers"] = "sandbox"
    twilio_api_base_url: str = "https://api.twilio.com"
    telesign_api_base_url: str = "https://rest-api.telesign.com"

    email_sender: Literal["sandbox", "acs"] = "sandbox"
    """Transcripts by email: recorded in memory (GET /api/sandbox/email), or sent through
    Azure Communication Services Email with the app's identity."""
    acs_email_endpoint: str = ""
    """The Communication Services resource that sends email (https://<name>.communication.azure.com)."""
    acs_email_sender: str = ""
    """The verified sender address, e.g. DoNotReply@<guid>.azurecomm.net."""

    public_base_url: str = "http://localhost:7071"
    """The URL the outside world (Twilio) calls this app at: webhook signatures cover it."""

    twilio_account_sid: str = ""
    twilio_auth_token: str = ""

    auth_mode: Literal["dev", "entra"] = "dev"
    entra_tenant_id: str = ""
    entra_authority_host: str = "https://login.microsoftonline.com"
    dev_auth_key_file: Path = Path(".data/dev-signing-key.pem")
    dev_auth_issuer: str = "https://localhost/omnichannel-dev"
    auth_audience: str = "api://omnichannel"

    # --- chat widget ---
    chat_token_secret: str = Field(default="", repr=False)
    """HMAC key (32+ characters) signing chat conversation tokens; every instance needs the same
    one. Empty locally: a key is generated into CHAT_TOKEN_KEY_FILE."""
    chat_token_key_file: Path = Path(".data/chat-token.key")
    chat_token_lifetime_seconds: int = Field(default=24 * 3600, ge=60)
    chat_max_text_length: int = Field(default=4000, ge=1)
    chat_max_attachment_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    chat_max_wait_seconds: float = Field(default=25.0, ge=0)
    """The longest a long-poll read or an event stream connection is held open."""
    chat_poll_interval_seconds: float = Field(default=0.5, gt=0)
    """How often a held read looks for news: a widget sees a message within this."""

    # --- supervision and figures ---
    org_time_zone: str = "UTC"
    """IANA name: figures are counted per day in this time zone."""
    service_level_seconds: float = Field(default=60.0, gt=0)
    """Work assigned within this many seconds of its arrival counts as answered in time."""
    service_level_target: float = Field(default=0.8, gt=0, lt=1)
    """The share of work to answer within SERVICE_LEVEL_SECONDS: staffing advice (Erlang C)
    counts the agents needed to reach it."""
    staffing_window_minutes: int = Field(default=60, ge=1)
    """Staffing advice takes the arrival rate over this many minutes ending now."""
    sentiment_enabled: bool = True
    """Score each customer message's sentiment (a lexicon method) for supervisors."""

    # --- agents' files ---
    attachment_storage: Literal["local", "azure"] = "local"
    """Where agents' files are kept: a folder (ATTACHMENT_FOLDER), or Azure Blob Storage
    (BLOB_ACCOUNT_URL, by the app's managed identity)."""
    attachment_folder: Path | None = None
    """Local storage: the folder; by default `attachments/` beside the SQLite file."""
    attachment_signing_key_file: Path | None = None
    """Local storage: the HMAC key signing download URLs, generated on first use; by default
    `attachment-signing.key` beside the SQLite file."""
    blob_account_url: str = ""
    """Azure storage: e.g. https://<account>.blob.core.windows.net"""
    blob_container: str = "attachments"
    attachment_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    """An upload larger than this is refused with 413."""
    attachment_allowed_types: str = ",".join(DEFAULT_ALLOWED_TYPES)
    """Media types an agent may send, comma-separated; others are refused with 415."""
    attachment_url_lifetime_seconds: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    """How long a customer's download URL works (made anew each time one is shown or sent)."""

    # --- chat: typing indicators ---
    typing_ttl_seconds: float = Field(default=6.0, gt=0, le=60)
    """How long one typing signal shows on the other side; clients repeat it while typing."""

    max_request_body_bytes: int = Field(default=1024 * 1024, ge=1)
    """Larger request bodies are refused with 413 before any route reads them."""

    log_level: str = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over local.settings.json, as with the Functions host.
        return (init_settings, env_settings, LocalSettingsJsonSource(settings_cls))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
