"""CustomerStore on Cosmos DB: customers with phone and email index documents, and SMS consent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shared.adapters.cosmos import layout
from shared.adapters.cosmos.containers import CosmosBase, load_record
from shared.adapters.cosmos.documents import (
    create_or_replace,
    delete_if_present,
    read_or_none,
)
from shared.adapters.cosmos.layout import document
from shared.domain.customers import Customer


class CosmosCustomers(CosmosBase):
    async def put_customer(self, customer: Customer) -> None:
        """The phone index is written before the customer and pruned after it, so it may
        hold stale entries but never misses one; readers check against the customer."""
        keys = _customer_index(customer)
        for key, doc_type in keys.items():
            await self._lookups.upsert(document(customer.id, key, doc_type))
        replaced = await create_or_replace(
            self._customers, document(customer.id, customer.id, "customer", customer)
        )
        if replaced is not None:
            for key in set(_customer_index(Customer.model_validate(replaced["data"]))) - set(keys):
                await delete_if_present(self._lookups, customer.id, key)

    async def get_customer(self, customer_id: str) -> Customer | None:
        doc = await read_or_none(self._customers, customer_id, customer_id)
        return None if doc is None else load_record(Customer, doc)

    async def find_customers_by_phone(self, e164: str) -> Sequence[Customer]:
        key = layout.customer_phone_key(e164)
        ids = await self._lookups.query(
            "SELECT VALUE c.id FROM c WHERE c.pk = @pk", {"@pk": key}, partition_key=key
        )
        found = []
        for customer_id in sorted(ids):
            customer = await self.get_customer(customer_id)
            if customer is not None and e164 in _phones(customer):
                found.append(customer)
        return found

    async def set_sms_consent(self, address: str, *, opted_out: bool, at: datetime) -> None:
        key = layout.sms_consent_key(address)
        await self._lookups.upsert(
            document(key, key, "sms-consent", opted_out=opted_out, changed_at=at.isoformat())
        )

    async def is_opted_out(self, address: str) -> bool:
        key = layout.sms_consent_key(address)
        doc = await read_or_none(self._lookups, key, key)
        return bool(doc and doc["opted_out"])

    async def find_customers_by_email(self, email: str) -> Sequence[Customer]:
        key = layout.customer_email_key(email)
        ids = await self._lookups.query(
            "SELECT VALUE c.id FROM c WHERE c.pk = @pk", {"@pk": key}, partition_key=key
        )
        found = []
        for customer_id in sorted(ids):
            customer = await self.get_customer(customer_id)
            if customer is not None and (customer.email or "").lower() == email.lower():
                found.append(customer)
        return found


def _phones(customer: Customer) -> set[str]:
    return {p for p in (customer.mobile_phone, customer.account_phone) if p}


def _customer_index(customer: Customer) -> dict[str, str]:
    """The lookup partitions that find the customer (by phone, by email)."""
    keys = {layout.customer_phone_key(phone): "customer-phone" for phone in _phones(customer)}
    if customer.email:
        keys[layout.customer_email_key(customer.email)] = "customer-email"
    return keys
