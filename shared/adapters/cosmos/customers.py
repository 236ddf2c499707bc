"""CustomerStore on Cosmos DB: customers with phone and email index documents, and SMS consent.
A merged record keeps its document (old references resolve) and loses its index documents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shared.adapters.cosmos import layout
from shared.adapters.cosmos.containers import CosmosBase, load_record
from shared.adapters.cosmos.documents import (
    Doc,
    create_if_absent,
    create_or_replace,
    delete_if_present,
    query_records,
    read_or_none,
    update,
)
from shared.adapters.cosmos.layout import document
from shared.domain.customers import Customer, name_key


class CosmosCustomers(CosmosBase):
    async def put_customer(self, customer: Customer) -> None:
        """The phone and email indexes are written before the customer and pruned after it,
        so they may hold stale entries but never miss one; readers check against the
        customer."""
        phones = _phones(customer)
        emails = _email_index(customer)
        for phone in phones:
            await self._index_phone(phone, customer.id, present=True)
        for key in emails:
            await self._lookups.upsert(document(customer.id, key, "customer-email"))
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
            before = Customer.model_validate(replaced["data"])
            for phone in _phones(before) - phones:
                await self._index_phone(phone, customer.id, present=False)
            for key in set(_email_index(before)) - set(emails):
                await delete_if_present(self._lookups, customer.id, key)

    async def _index_phone(self, phone: str, customer_id: str, *, present: bool) -> None:
        """One document per number (id = pk = the key) lists its customers, so ingest finds
        them with one point read (1 RU) rather than a query (2.5+ RU)."""
        key = layout.customer_phone_key(phone)
        if present and await create_if_absent(
            self._lookups, document(key, key, "customer-phone", customer_ids=[customer_id])
        ):
            return

        def change(doc: Doc) -> Doc | None:
            ids: list[str] = doc["customer_ids"]
            if (customer_id in ids) == present:
                return None
            kept = sorted({*ids, customer_id}) if present else [i for i in ids if i != customer_id]
            return {**doc, "customer_ids": kept}

        await update(self._lookups, key, key, change)

    async def get_customer(self, customer_id: str) -> Customer | None:
        doc = await read_or_none(self._customers, customer_id, customer_id)
        return None if doc is None else load_record(Customer, doc)

    async def find_customers_by_phone(self, e164: str) -> Sequence[Customer]:
        key = layout.customer_phone_key(e164)
        index = await read_or_none(self._lookups, key, key)
        found = []
        for customer_id in sorted(index["customer_ids"] if index else ()):
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
        for phone in _phones(current):
            await self._index_phone(phone, customer_id, present=False)
        for key in _email_index(current):
            await delete_if_present(self._lookups, customer_id, key)
        return deleted


def _phones(customer: Customer) -> set[str]:
    """The numbers whose lookup finds the customer; none once merged."""
    return set() if customer.merged_into is not None else set(customer.phones)


def _email_index(customer: Customer) -> list[str]:
    """The lookup partitions that find the customer by email (one document per customer);
    none once merged."""
    if customer.merged_into is not None or not customer.email:
        return []
    return [layout.customer_email_key(customer.email)]
