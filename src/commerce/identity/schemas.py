"""Pydantic models at the identity edge."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from commerce.identity.permissions import Permission

#: Free text never holds NUL (PostgreSQL text cannot; api/text_guard.py refuses it).
NO_NUL = r"^[^\x00]*$"
PersonName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00]*\S[^\x00]*$"
    ),
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=NO_NUL)]
#: A new password: the policy's length is in the schema (its other rules cannot be).
MIN_PASSWORD = 10
NewPassword = Annotated[
    str, StringConstraints(min_length=MIN_PASSWORD, max_length=256, pattern=NO_NUL)
]
#: Login takes any address-shaped string: an unknown one is a 401 like a wrong password.
LoginEmail = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$"
    ),
]
RoleName = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Z][A-Z0-9_]{1,63}$")
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()-]{6,20}$")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Registration(_Input):
    email: EmailStr
    password: NewPassword
    first_name: PersonName
    last_name: PersonName
    phone: Phone | None = None


class Credentials(_Input):
    email: LoginEmail
    password: Password


class RefreshRequest(_Input):
    refresh_token: Annotated[str, StringConstraints(min_length=20, max_length=200, pattern=NO_NUL)]


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    first_name: str
    last_name: str
    phone: str | None
    role: str
    permissions: list[Permission]
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserOut


#: A set in meaning; a list on the wire, so a repeated permission is accepted (and counted once)
#: as the schema says, rather than documented as unique and then accepted anyway.
Permissions = Annotated[list[Permission], Field(max_length=50)]
Description = Annotated[str, StringConstraints(max_length=300, pattern=NO_NUL)]


class RoleIn(_Input):
    name: RoleName
    description: Description = ""
    permissions: Permissions


class RolePatch(_Input):
    description: Description | None = None
    permissions: Permissions | None = None


class RoleOut(BaseModel):
    name: str
    description: str
    permissions: list[Permission]
    system: bool
    version: int


class RoleAssignment(_Input):
    role: RoleName


class UserStatus(_Input):
    active: Annotated[bool, Field(strict=True)]


class ResetRequest(_Input):
    email: LoginEmail


class PasswordReset(_Input):
    token: Annotated[str, StringConstraints(min_length=20, max_length=200, pattern=NO_NUL)]
    new_password: NewPassword


class PasswordChange(_Input):
    current_password: Password
    new_password: NewPassword


class Accepted(BaseModel):
    detail: str
