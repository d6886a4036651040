"""Named permissions and the roles seeded with them."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    CREATE_ORDER = "CREATE_ORDER"
    MANAGE_PRODUCTS = "MANAGE_PRODUCTS"
    MANAGE_INVENTORY = "MANAGE_INVENTORY"
    MANAGE_ORDERS = "MANAGE_ORDERS"
    MANAGE_ROLES = "MANAGE_ROLES"
    VIEW_DASHBOARD = "VIEW_DASHBOARD"
    MANAGE_USERS = "MANAGE_USERS"


CUSTOMER = "CUSTOMER"
STAFF = "STAFF"
ADMIN = "ADMIN"
SUPER_ADMIN = "SUPER_ADMIN"

#: System roles: seeded by the migration, never deleted; SUPER_ADMIN's set never shrinks.
SYSTEM_ROLES: dict[str, frozenset[Permission]] = {
    CUSTOMER: frozenset({Permission.CREATE_ORDER}),
    STAFF: frozenset(
        {
            Permission.MANAGE_PRODUCTS,
            Permission.MANAGE_INVENTORY,
            Permission.MANAGE_ORDERS,
            Permission.VIEW_DASHBOARD,
        }
    ),
    ADMIN: frozenset(set(Permission) - {Permission.MANAGE_ROLES}),
    SUPER_ADMIN: frozenset(Permission),
}
