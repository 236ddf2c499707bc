"""Demo configuration for `make run` and the end-to-end tests. Idempotent: ids are fixed."""

from __future__ import annotations

from typing import Protocol

from shared.domain.channels import Channel, ChannelKind, ChatWidget, PreChatQuestion, TwilioAccount
from shared.domain.customers import Customer
from shared.domain.presence import Presence
from shared.domain.quick_replies import QuickReply
from shared.domain.routing_config import (
    Agent,
    Condition,
    ConditionField,
    Operator,
    Queue,
    RoutingRule,
    Workstream,
)
from shared.ports import ChannelStore, CustomerStore, QuickReplyStore, RoutingConfigStore


class SeedPorts(ChannelStore, RoutingConfigStore, CustomerStore, QuickReplyStore, Protocol):
    """The store ports this service needs."""


SMS_NUMBER = "+12025550100"
CHAT_WIDGET_ID = "demo-widget"

DEMO_TWILIO_ACCOUNT_SID = "AC" + "0" * 32


# The demo widget's pre-chat form: a name and phone matching one customer identify them.
CHAT_WIDGET = ChatWidget(
    pre_chat=(
        PreChatQuestion(key="name", label="Your name", required=True, identifies="display_name"),
        PreChatQuestion(key="phone", label="Mobile phone", identifies="mobile_phone"),
        PreChatQuestion(key="topic", label="What is it about?"),
    ),
    greeting="Hello! An agent will be with you shortly.",
)


def channels(twilio_auth_token: str) -> tuple[Channel, ...]:
    """The demo channels: the chat widget, and the Twilio number when the settings give a
    token to sign its webhooks with (TWILIO_AUTH_TOKEN)."""
    chat = Channel(
        id="chat-web",
        kind=ChannelKind.CHAT,
        addresses=(CHAT_WIDGET_ID,),
        workstream_id="ws-chat",
        chat=CHAT_WIDGET,
    )
    if not twilio_auth_token:
        return (chat,)
    sms = Channel(
        id="sms-main",
        kind=ChannelKind.SMS,
        addresses=(SMS_NUMBER,),
        account=TwilioAccount(account_sid=DEMO_TWILIO_ACCOUNT_SID, auth_token=twilio_auth_token),
        workstream_id="ws-sms",
    )
    return (sms, chat)


QUEUES = (
    Queue(id="q-general", name="General support"),
    Queue(id="q-billing", name="Billing", priority=1),
)

WORKSTREAMS = (
    Workstream(
        id="ws-sms",
        name="SMS",
        channel=ChannelKind.SMS,
        capacity_units=1,
        fallback_queue_id="q-general",
    ),
    Workstream(
        id="ws-chat",
        name="Web chat",
        channel=ChannelKind.CHAT,
        capacity_units=2,
        fallback_queue_id="q-general",
    ),
)

RULES = tuple(
    RoutingRule(
        id=f"{workstream}-billing",
        workstream_id=workstream,
        order=10,
        name="Billing words go to Billing",
        match="any",
        conditions=(
            Condition(
                field=ConditionField.TEXT, operator=Operator.REGEX, value=r"\b(bill|invoice|refund)"
            ),
        ),
        queue_id="q-billing",
        priority=1,
    )
    for workstream in ("ws-sms", "ws-chat")
)

AGENTS = (
    Agent(
        id="alice",
        display_name="Alice Agent",
        queue_ids=("q-general", "q-billing"),
        max_capacity=4,
        default_presence=Presence.AVAILABLE,
    ),
    Agent(
        id="bob",
        display_name="Bob Agent",
        queue_ids=("q-general",),
        max_capacity=2,
        default_presence=Presence.AVAILABLE,
    ),
    Agent(
        id="carol",
        display_name="Carol Agent",
        queue_ids=("q-billing",),
        max_capacity=1,
        default_presence=Presence.AVAILABLE,
    ),
)

CUSTOMERS = (
    Customer(id="cust-ada", display_name="Ada Lovelace", mobile_phone="+14155550101"),
    Customer(id="cust-grace", display_name="Grace Hopper", mobile_phone="+14155550102"),
)


# Answers agents pick with `/` in the console: the customer's and agent's names, and on chat a
# context variable the demo page sets.
QUICK_REPLIES = (
    QuickReply(
        id="qr-greeting-sms",
        workstream_id="ws-sms",
        title="Greeting",
        text="Hello {first_name}, this is {agent_name}. How can I help?",
    ),
    QuickReply(
        id="qr-greeting-chat",
        workstream_id="ws-chat",
        title="Greeting",
        text="Hello {first_name}, this is {agent_name}. How can I help?",
    ),
    QuickReply(
        id="qr-greeting-chat-fr",
        workstream_id="ws-chat",
        locale="fr",
        title="Bonjour",
        text="Bonjour {first_name}, je suis {agent_name}. Comment puis-je vous aider ?",
    ),
    QuickReply(
        id="qr-refund-chat",
        workstream_id="ws-chat",
        title="Refund delay",
        text="Refunds reach your card within five working days.",
    ),
)


async def seed_demo(store: SeedPorts, *, twilio_auth_token: str) -> None:
    for queue in QUEUES:
        await store.put_queue(queue)
    for workstream in WORKSTREAMS:
        await store.put_workstream(workstream)
    for rule in RULES:
        await store.put_rule(rule)
    for channel in channels(twilio_auth_token):
        await store.put_channel(channel)
    for agent in AGENTS:
        await store.put_agent(agent)
    for customer in CUSTOMERS:
        await store.put_customer(customer)
    for reply in QUICK_REPLIES:
        await store.put_quick_reply(reply)
