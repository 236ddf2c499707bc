"""What every store adapter must do as a CustomerStore: customers by id, phone and email, and SMS
consent."""

from __future__ import annotations

from datetime import timedelta

from shared.domain.customers import Customer
from shared.ports import Store
from tests.contract.builders import T0


async def test_customers_are_found_by_mobile_or_account_phone(store: Store) -> None:
    await store.put_customer(Customer(id="c1", display_name="Ada", mobile_phone="+14155550101"))
    await store.put_customer(Customer(id="c2", display_name="Acme", account_phone="+14155550199"))
    assert [c.id for c in await store.find_customers_by_phone("+14155550101")] == ["c1"]
    assert [c.id for c in await store.find_customers_by_phone("+14155550199")] == ["c2"]
    assert await store.find_customers_by_phone("+14155550000") == []


async def test_customers_are_read_by_id(store: Store) -> None:
    customer = Customer(id="c1", display_name="Ada", mobile_phone="+14155550101")
    await store.put_customer(customer)
    assert await store.get_customer("c1") == customer
    assert await store.get_customer("c2") is None


async def test_consent_belongs_to_the_number(store: Store) -> None:
    await store.set_sms_consent("+14155550101", opted_out=True, at=T0)
    assert await store.is_opted_out("+14155550101")
    await store.set_sms_consent("+14155550101", opted_out=False, at=T0 + timedelta(hours=1))
    assert not await store.is_opted_out("+14155550101")
    assert not await store.is_opted_out("+14155550102")  # never seen: read last (see above)


async def test_customers_are_found_by_email_case_insensitively(store: Store) -> None:
    ada = Customer(id="c1", display_name="Ada", email="Ada@Example.org")
    await store.put_customer(ada)
    await store.put_customer(Customer(id="c2", display_name="Ada's twin", email="ada@example.ORG"))
    await store.put_customer(Customer(id="c3", display_name="Grace", email="grace@example.org"))
    found = await store.find_customers_by_email("ADA@example.org")
    assert [c.id for c in found] == ["c1", "c2"]
    assert found[0] == ada  # the record as written
    assert await store.find_customers_by_email("nobody@example.org") == []
    # A changed email is found under the new one only; a removed one under none.
    await store.put_customer(ada.model_copy(update={"email": "lovelace@example.org"}))
    assert [c.id for c in await store.find_customers_by_email("ada@example.org")] == ["c2"]
    assert [c.id for c in await store.find_customers_by_email("lovelace@example.org")] == ["c1"]
    await store.put_customer(Customer(id="c3", display_name="Grace", mobile_phone="+14155550102"))
    assert await store.find_customers_by_email("grace@example.org") == []
    assert [c.id for c in await store.find_customers_by_phone("+14155550102")] == ["c3"]


async def test_customers_are_listed_in_id_order_and_found_by_any_word_of_their_name(
    store: Store,
) -> None:
    for customer_id, name in (
        ("c1", "Ada Lovelace"),
        ("c2", "Grace Hopper"),
        ("c3", "Ádám  Lovász"),
        ("c4", "Alan Turing"),
    ):
        await store.put_customer(Customer(id=customer_id, display_name=name))
    listed = await store.list_customers(name=None, after=None, limit=3)
    assert [c.id for c in listed] == ["c1", "c2", "c3"]
    rest = await store.list_customers(name=None, after="c3", limit=3)
    assert [c.id for c in rest] == ["c4"]
    assert [c.id for c in await store.list_customers(name="lovel", after=None, limit=10)] == ["c1"]
    assert [c.id for c in await store.list_customers(name="LOV", after=None, limit=10)] == [
        "c1",
        "c3",
    ]
    assert [c.id for c in await store.list_customers(name="A", after=None, limit=10)] == [
        "c1",
        "c3",
        "c4",
    ]
    assert [c.id for c in await store.list_customers(name="ádám lov", after=None, limit=10)] == [
        "c3"
    ]
    assert await store.list_customers(name="hopper grace", after=None, limit=10) == []
    # A renamed customer is found by its new name only.
    await store.put_customer(Customer(id="c2", display_name="Grace Brewster"))
    assert await store.list_customers(name="hop", after=None, limit=10) == []
    assert [c.id for c in await store.list_customers(name="brew", after=None, limit=10)] == ["c2"]


async def test_a_merged_record_is_read_by_id_and_found_by_no_lookup(store: Store) -> None:
    ada = Customer(
        id="c1", display_name="Ada", mobile_phone="+14155550101", email="ada@example.org"
    )
    await store.put_customer(ada)
    merged = ada.model_copy(update={"merged_into": "c2"})
    await store.put_customer(merged)
    assert await store.get_customer("c1") == merged
    assert await store.find_customers_by_phone("+14155550101") == []
    assert await store.find_customers_by_email("ada@example.org") == []
    assert await store.list_customers(name="ada", after=None, limit=10) == []


async def test_a_deleted_customer_is_gone_with_what_found_it(store: Store) -> None:
    await store.put_customer(
        Customer(id="c1", display_name="Ada", mobile_phone="+14155550101", email="a@example.org")
    )
    assert await store.delete_customer("c1")
    assert not await store.delete_customer("c1")
    assert await store.get_customer("c1") is None
    assert await store.find_customers_by_phone("+14155550101") == []
    assert await store.find_customers_by_email("a@example.org") == []
    assert await store.list_customers(name=None, after=None, limit=10) == []
