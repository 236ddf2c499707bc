"""CustomerStore on Cosmos DB: customers with phone and email index documents, and SMS consent.
A merged record keeps its document (old references resolve) and loses its index documents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shared.adapters.cosmos import layout
from shared.adapters.cosmos.containers import CosmosBase, load_record
from shared.adapters.cosmos.documents import (
    create_or_replace,
    delete_if_present,
    query_records,
    read_or_none,
)
from shared.adapters.cosmos.layout import document
from shared.domain.customers import Customer, name_key


class CosmosCustomers(CosmosBase):
    async def put_customer(self, customer: Customer) -> None:
        """The phone index is written before the customer and pruned after it, so it may
        hold stale entries but never misses one; readers check against the customer."""
        keys = _customer_index(customer)
        for key, doc_type in keys.items():
            await self._lookups.upsert(document(customer.id, key, doc_type))
        replaced = await create_or_replace(
            self._customers,
            document(
                customer.id,
                customer.id,
                "customer",
                customer,
                name_key=name_key(customer.display_name),
                merged=customer.merged_into is not None,
            ),
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
            if customer is not None and customer.merged_into is None and e164 in customer.phones:
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
            if (
                customer is not None
                and customer.merged_into is None
                and (customer.email or "").lower() == email.lower()
            ):
                found.append(customer)
        return found

    async def list_customers(
        self, *, name: str | None, after: str | None, limit: int
    ) -> Sequence[Customer]:
        """Off the hot path (an agent's or admin's search): one query across the customers'
        partitions on the indexed name key, in id order. A document written before the name
        key existed is listed, and found by name once it is next written."""
        return await query_records(
            self._customers,
            Customer,
            "SELECT TOP @limit VALUE c.data FROM c WHERE c.id > @after "
            "AND (NOT IS_DEFINED(c.merged) OR c.merged = false) "
            "AND (@name = null OR CONTAINS(c.name_key, @name)) ORDER BY c.id",
            {
                "@after": after or "",
                "@limit": limit,
                "@name": None if name is None else name_key(name),
            },
            partition_key=None,
        )

    async def delete_customer(self, customer_id: str) -> bool:
        """The index documents after the customer: a crash between leaves stale entries,
        which readers check against the (absent) customer."""
        current = await self.get_customer(customer_id)
        if current is None:
            return False
        deleted = await delete_if_present(self._customers, customer_id, customer_id)
        for key in _customer_index(current):
            await delete_if_present(self._lookups, customer_id, key)
        return deleted


def _customer_index(customer: Customer) -> dict[str, str]:
    """The lookup partitions that find the customer (by phone, by email); none once merged."""
    if customer.merged_into is not None:
        return {}
    keys = {layout.customer_phone_key(phone): "customer-phone" for phone in customer.phones}
    if customer.email:
        keys[layout.customer_email_key(customer.email)] = "customer-email"
    return keys
