"""Admin management of channels: provider accounts with their numbers. Secrets are write-only."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from pydantic import Field
from pydantic.config import JsonDict

from shared.domain.base import Model
from shared.domain.channels import (
    AcsAccount,
    Channel,
    ChannelKind,
    ChatWidget,
    ProviderAccount,
    SmsProvider,
    TeleSignAccount,
    TwilioAccount,
)
from shared.domain.phone import InvalidPhoneNumber, to_e164
from shared.errors import BadRequest, NotFound, existing
from shared.ports import ChannelStore, RoutingConfigStore, SendFailed, SmsSender
from shared.services.listing import Page, page_of


class ChannelPorts(ChannelStore, RoutingConfigStore, Protocol):
    """The store ports this service needs."""


SECRET_FIELDS = ("auth_token", "api_key", "access_key", "webhook_secret")
VALIDATION_TEXT = "Channel validation: this number is connected to customer service."


# Shown by GET, ignored by PUT: what the channel's account and stored secrets make them.
_READ_ONLY: JsonDict = {"readOnly": True}


class ChannelInput(Model):
    """A channel as an admin writes it: what GET shows can be written back as it is. Secret
    fields left out keep their stored values, so a client that never saw them (they are
    write-only) can still edit the rest."""

    id: str | None = Field(default=None, description="the path's, if given")
    kind: ChannelKind
    addresses: tuple[str, ...] = Field(min_length=1, max_length=100)
    account: dict[str, Any] | None = None
    workstream_id: str
    create_unknown_contacts: bool = False
    chat: ChatWidget | None = Field(
        default=None, description="chat channels: the widget's pre-chat form, greeting, origins"
    )
    provider: SmsProvider | None = Field(
        default=None, description="the account's provider", json_schema_extra=_READ_ONLY
    )
    secrets_set: tuple[str, ...] = Field(
        default=(),
        description="the account's secrets that are stored",
        json_schema_extra=_READ_ONLY,
    )


class ChannelView(ChannelInput):
    """A channel as the admin API shows it: the account without its secrets."""

    id: str

    @classmethod
    def of(cls, channel: Channel) -> ChannelView:
        account = None if channel.account is None else channel.account.model_dump(mode="json")
        secrets = tuple(k for k in SECRET_FIELDS if account and account.get(k))
        return cls(
            id=channel.id,
            kind=channel.kind,
            addresses=channel.addresses,
            provider=channel.provider,
            account=None
            if account is None
            else {k: v for k, v in account.items() if k not in SECRET_FIELDS},
            secrets_set=secrets,
            workstream_id=channel.workstream_id,
            create_unknown_contacts=channel.create_unknown_contacts,
            chat=channel.chat,
        )


class NumberCheck(Model):
    number: str
    ok: bool
    provider_message_id: str | None = None
    error: str | None = None


class ChannelService:
    def __init__(self, store: ChannelPorts, sms: SmsSender) -> None:
        self._store = store
        self._sms = sms

    async def put(self, channel_id: str, given: ChannelInput) -> ChannelView:
        """Create or replace a channel; raises BadRequest, NotFound (workstream), Conflict
        (a number another channel has), changing nothing in each case."""
        if await self._store.get_workstream(given.workstream_id) is None:
            raise NotFound(f"workstream {given.workstream_id} does not exist")
        current = await self._store.get_channel(channel_id)
        account = _merge_secrets(given.account, current.account if current else None)
        if given.kind == ChannelKind.SMS:
            if account is None:
                raise BadRequest("an SMS channel needs a provider account")
            if given.chat is not None:
                raise BadRequest("an SMS channel has no chat widget")
            addresses = tuple(_e164(a) for a in given.addresses)
        else:
            if account is not None:
                raise BadRequest("a chat channel has no provider account")
            addresses = given.addresses
        repeated = sorted({a for a in addresses if addresses.count(a) > 1})
        if repeated:
            raise BadRequest(f"addresses listed more than once: {', '.join(repeated)}")
        provider = None if account is None else account.provider
        if given.provider not in (None, provider):
            raise BadRequest(f"provider is read-only: the account's, here {provider or 'none'}")
        try:
            channel = Channel(
                id=channel_id,
                kind=given.kind,
                addresses=addresses,
                account=account,
                workstream_id=given.workstream_id,
                create_unknown_contacts=given.create_unknown_contacts,
                chat=given.chat,
            )
        except ValueError as exc:
            raise BadRequest(f"invalid channel: {_without_input(exc)}") from exc
        await self._store.put_channel(channel)
        return ChannelView.of(channel)

    async def get(self, channel_id: str) -> ChannelView:
        return ChannelView.of(await self._channel(channel_id))

    async def _channel(self, channel_id: str) -> Channel:
        return existing(await self._store.get_channel(channel_id), f"channel {channel_id}")

    async def list_channels(self, *, after: str | None, limit: int) -> Page[ChannelView]:
        page = await page_of(self._store.list_channels, after=after, limit=limit)
        return Page[ChannelView](
            items=[ChannelView.of(channel) for channel in page.items], next_cursor=page.next_cursor
        )

    async def delete(self, channel_id: str) -> None:
        if not await self._store.delete_channel(channel_id):
            raise NotFound(f"channel {channel_id} does not exist")

    async def validate(self, channel_id: str) -> list[NumberCheck]:
        """Send a test SMS to each of the channel's numbers through its provider, and report
        what the provider answered for each."""
        channel = await self._channel(channel_id)
        if channel.kind != ChannelKind.SMS:
            raise BadRequest("only SMS channels can be validated")
        checks = []
        for number in channel.addresses:
            try:
                provider_id = await self._sms.send(
                    channel,
                    message_id=f"validate-{uuid.uuid4().hex}",
                    to=number,
                    from_=number,
                    text=VALIDATION_TEXT,
                )
            except SendFailed as failure:
                checks.append(NumberCheck(number=number, ok=False, error=failure.reason))
            else:
                checks.append(NumberCheck(number=number, ok=True, provider_message_id=provider_id))
        return checks


def _e164(number: str) -> str:
    try:
        return to_e164(number)
    except InvalidPhoneNumber as exc:
        raise BadRequest(f"{number!r}: {exc}") from exc


def _merge_secrets(
    given: dict[str, Any] | None, stored: ProviderAccount | None
) -> ProviderAccount | None:
    if given is None:
        return None
    merged = dict(given)
    if stored is not None and stored.provider == given.get("provider"):
        for name in SECRET_FIELDS:
            if merged.get(name) is None and getattr(stored, name, None) is not None:
                merged[name] = getattr(stored, name)
    kinds: dict[str, type[ProviderAccount]] = {
        SmsProvider.TWILIO: TwilioAccount,
        SmsProvider.TELESIGN: TeleSignAccount,
        SmsProvider.ACS: AcsAccount,
    }
    kind = kinds.get(str(merged.get("provider")))
    if kind is None:
        raise BadRequest(f"account.provider must be one of {', '.join(kinds)}")
    try:
        return kind.model_validate(merged)
    except ValueError as exc:
        raise BadRequest(f"invalid {merged['provider']} account: {_without_input(exc)}") from exc


def _without_input(exc: ValueError) -> str:
    """A validation error's messages without the input values: they may be secrets."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in errors()
        )
    return str(exc)
