"""Hypothesis fuzz of each provider's webhook parser and signature check, called directly:
whatever the bytes or JSON, a parser either returns or raises BadRequest (the webhook's 4xx),
never anything else; a signature or secret check returns a bool, and never accepts a body
whose content was changed after signing. Derandomized, a bounded number of examples
(SOAK_FACTOR times more in `make soak`)."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from shared.channels.acs import webhook as acs
from shared.channels.telesign import webhook as telesign
from shared.channels.twilio import webhook as twilio
from shared.domain.channels import TeleSignAccount
from shared.errors import BadRequest
from tests.reliability.soak import examples

NOW = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
URL = "https://omni.example.test/api/sms/twilio"
TOKEN = "test-twilio-auth-token"

fuzz = settings(
    max_examples=examples(150),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def only_bad_request(parse: Callable[[], object]) -> None:
    """Run a parser: a result or BadRequest (anything else propagates and fails the test)."""
    with contextlib.suppress(BadRequest):
        parse()


# Values that reach past the first checks: phone-number-ish, numeric, or anything at all.
values = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"\+?[0-9 ()\-]{0,20}", fullmatch=True),
    st.integers(-5, 20).map(str),
    st.sampled_from(["+14155550101", "+12025550100", "delivered", "failed", "received"]),
)
TWILIO_FIELDS = [
    "MessageSid",
    "From",
    "To",
    "Body",
    "NumMedia",
    "MediaUrl0",
    "MediaContentType0",
    "MessageStatus",
    "ErrorCode",
    "ErrorMessage",
]
twilio_forms = st.dictionaries(
    st.one_of(st.sampled_from(TWILIO_FIELDS), st.text(min_size=1, max_size=10)),
    values,
    max_size=12,
)


# --- Twilio ---------------------------------------------------------------------------------


@fuzz
@given(body=st.one_of(st.binary(max_size=300), twilio_forms.map(lambda f: urlencode(f).encode())))
def test_twilio_parsing_raises_only_bad_request(body: bytes) -> None:
    try:
        params = twilio.FormParams.parse(body)
    except BadRequest:
        return
    only_bad_request(lambda: twilio.parse_inbound(params, NOW))
    only_bad_request(lambda: twilio.parse_status(params))


@fuzz
@given(
    body=st.binary(max_size=200),
    signature=st.one_of(st.none(), st.text(max_size=60)),
    signature_settings=st.one_of(st.none(), st.text(max_size=20)),
)
def test_twilio_signature_check_returns_a_bool_for_anything(
    body: bytes, signature: str | None, signature_settings: str | None
) -> None:
    try:
        params = twilio.FormParams.parse(body)
    except BadRequest:
        return
    valid = twilio.signature_is_valid(TOKEN, URL, params, signature, signature_settings)
    assert valid is False


@fuzz
@given(form=twilio_forms, position=st.integers(min_value=0), byte=st.integers(0, 255))
def test_twilio_signature_never_accepts_a_changed_form(
    form: dict[str, str], position: int, byte: int
) -> None:
    body = urlencode(form).encode()
    signature = RequestValidator(TOKEN).compute_signature(URL, form)
    signed = twilio.FormParams.parse(body)
    assert twilio.signature_is_valid(TOKEN, URL, signed, signature, None)
    assert not twilio.signature_is_valid(TOKEN + "x", URL, signed, signature, None)
    if not body:
        return
    tampered = bytearray(body)
    tampered[position % len(body)] = byte
    try:
        params = twilio.FormParams.parse(bytes(tampered))
    except BadRequest:
        return
    # Twilio signs the decoded fields, not the bytes: `%2b` for `%2B` is the same form.
    if sorted(params.as_dict().items()) != sorted(form.items()) or len(list(params)) != len(form):
        assert not twilio.signature_is_valid(TOKEN, URL, params, signature, None)


# --- TeleSign -------------------------------------------------------------------------------

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
TELESIGN_KEYS = [
    "reference_id",
    "sub_resource",
    "status",
    "code",
    "description",
    "updated_on",
    "user_response",
    "phone_number",
    "mo_message",
    "sender_id",
    "action",
    "keyword",
    "external_id",
]


def shaped(keys: list[str]) -> st.SearchStrategy[Any]:
    """JSON objects built from a provider's own key names (nested), so parsing gets deep."""
    leaves = st.one_of(
        values, st.integers(-1000, 1000), st.none(), st.sampled_from(["mo_sms", "1.0"])
    )
    return st.recursive(
        leaves,
        lambda children: (
            st.dictionaries(st.sampled_from(keys), children, max_size=len(keys))
            | st.lists(children, max_size=3)
        ),
        max_leaves=20,
    )


telesign_bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    shaped(TELESIGN_KEYS).map(lambda v: json.dumps(v).encode()),
)


@fuzz
@given(body=telesign_bodies)
def test_telesign_parsing_raises_only_bad_request(body: bytes) -> None:
    try:
        inbound = telesign.parse(body, telesign.MoCallback)
    except BadRequest:
        pass
    else:
        only_bad_request(lambda: telesign.parse_inbound(inbound, NOW))
    try:
        report = telesign.parse(body, telesign.DeliveryCallback)
    except BadRequest:
        pass
    else:
        only_bad_request(lambda: telesign.parse_status(report))


ACCOUNT = TeleSignAccount(
    customer_id="FFFFFFFF-EEEE-DDDD-1234-AB1234567890",
    api_key=base64.b64encode(b"an api key of some length").decode(),
)


@fuzz
@given(
    body=telesign_bodies,
    other=st.binary(max_size=300),
    headers=st.lists(st.one_of(st.none(), st.text(max_size=80)), max_size=3),
)
def test_telesign_signature_never_accepts_a_changed_body(
    body: bytes, other: bytes, headers: list[str | None]
) -> None:
    claimed = telesign.credentials(headers)  # any header text: parsed, never raising
    assert not telesign.signed_by(ACCOUNT, body, claimed) or any(
        c.signature == telesign.callback_signature(ACCOUNT.api_key, body) for c in claimed
    )
    signature = telesign.callback_signature(ACCOUNT.api_key, body)
    header = f"TSA {ACCOUNT.customer_id}:{signature}"
    genuine = telesign.credentials([header])
    assert telesign.signed_by(ACCOUNT, body, genuine)
    if other != body:
        assert not telesign.signed_by(ACCOUNT, other, genuine)
    flipped = bytes([body[0] ^ 1]) + body[1:] if body else b" "
    assert not telesign.signed_by(ACCOUNT, flipped, genuine)


# --- ACS (Event Grid) -----------------------------------------------------------------------

ACS_KEYS = [
    "id",
    "eventType",
    "subject",
    "eventTime",
    "dataVersion",
    "specversion",
    "type",
    "source",
    "time",
    "data",
    "validationCode",
    "messageId",
    "from",
    "From",
    "to",
    "message",
    "receivedTimestamp",
    "deliveryStatus",
    "deliveryStatusDetails",
    "deliveryAttempts",
    "segmentCount",
]
ACS_TYPES = [
    acs.SUBSCRIPTION_VALIDATION,
    acs.SMS_RECEIVED,
    acs.SMS_DELIVERY_REPORT,
    "2026-11-01T09:30:00Z",
]


@fuzz
@given(
    body=st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.lists(
            st.dictionaries(
                st.sampled_from(ACS_KEYS),
                st.one_of(st.sampled_from(ACS_TYPES), shaped(ACS_KEYS)),
                max_size=len(ACS_KEYS),
            ),
            max_size=3,
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_acs_parsing_raises_only_bad_request(body: bytes) -> None:
    only_bad_request(lambda: acs.parse_events(body, NOW))


@fuzz
@given(secret=st.text(min_size=1, max_size=40), given_=st.lists(st.text(max_size=40), max_size=3))
def test_acs_secret_check_accepts_only_the_secret_everywhere_it_is_given(
    secret: str, given_: list[str]
) -> None:
    accepted = acs.carries_secret(secret, tuple(given_))
    assert accepted == (bool(given_) and all(g == secret for g in given_))
