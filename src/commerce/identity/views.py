"""Users and roles as the API shows them."""

from __future__ import annotations

from commerce.identity.models import Role, User
from commerce.identity.permissions import Permission
from commerce.identity.schemas import (
    RoleOut,
    UserOut,
)


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        phone=user.phone,
        role=user.role.name,
        permissions=sorted(Permission(p) for p in user.role.permissions),
        active=user.active,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


def role_out(role: Role) -> RoleOut:
    return RoleOut(
        name=role.name,
        description=role.description,
        system=role.system,
        version=role.version,
        permissions=sorted(Permission(p) for p in role.permissions),
    )
