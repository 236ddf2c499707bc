"""CustomerStore on SQLite: customers with phone, email and name indexes, and SMS consent per
number. A merged record stays (old references resolve) but no lookup finds it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shared.adapters.sqlite.tables import SqliteBase, doc_json
from shared.domain.customers import Customer, name_key


class SqliteCustomers(SqliteBase):
    async def put_customer(self, customer: Customer) -> None:
        email = None if customer.email is None else customer.email.lower()
        await self._db.atomic(
            lambda db: db.execute(
                "INSERT INTO customers (id, mobile_phone, account_phone, email, name_key, "
                "merged_into, doc) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "mobile_phone = excluded.mobile_phone, "
                "account_phone = excluded.account_phone, email = excluded.email, "
                "name_key = excluded.name_key, merged_into = excluded.merged_into, "
                "doc = excluded.doc",
                (
                    customer.id,
                    customer.mobile_phone,
                    customer.account_phone,
                    email,
                    name_key(customer.display_name),
                    customer.merged_into,
                    doc_json(customer),
                ),
            )
        )

    async def get_customer(self, customer_id: str) -> Customer | None:
        return await self._get(Customer, "customers", customer_id)

    async def find_customers_by_phone(self, e164: str) -> Sequence[Customer]:
        return await self._query(
            Customer,
            "SELECT doc FROM customers WHERE (mobile_phone = ? OR account_phone = ?) "
            "AND merged_into IS NULL ORDER BY id",
            (e164, e164),
        )

    async def set_sms_consent(self, address: str, *, opted_out: bool, at: datetime) -> None:
        await self._db.atomic(
            lambda db: db.execute(
                "INSERT INTO sms_consent (address, opted_out, changed_at) VALUES (?, ?, ?) "
                "ON CONFLICT (address) DO UPDATE SET opted_out = excluded.opted_out, "
                "changed_at = excluded.changed_at",
                (address, int(opted_out), at.isoformat()),
            )
        )

    async def is_opted_out(self, address: str) -> bool:
        row = await self._db.atomic(
            lambda db: db.execute(
                "SELECT opted_out FROM sms_consent WHERE address = ?", (address,)
            ).fetchone()
        )
        return bool(row and row[0])

    async def find_customers_by_email(self, email: str) -> Sequence[Customer]:
        return await self._query(
            Customer,
            "SELECT doc FROM customers WHERE email = ? AND merged_into IS NULL ORDER BY id",
            (email.lower(),),
        )

    async def list_customers(
        self, *, name: str | None, after: str | None, limit: int
    ) -> Sequence[Customer]:
        # A name is a substring test on name_key (" ada lovelace" holds " lov"): customers
        # are few beside messages, and the id order lets a page stop at `limit`.
        wanted = None if name is None else name_key(name)
        return await self._query(
            Customer,
            "SELECT doc FROM customers WHERE id > ? AND merged_into IS NULL "
            "AND (? IS NULL OR instr(name_key, ?) > 0) ORDER BY id LIMIT ?",
            (after or "", wanted, wanted, limit),
        )

    async def delete_customer(self, customer_id: str) -> bool:
        return await self._delete("customers", customer_id)
