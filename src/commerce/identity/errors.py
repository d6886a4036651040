from commerce.errors import Conflict, DomainError, InvalidInput, NotFound, TooManyRequests


class Unauthenticated(DomainError):
    status = 401
    title = "Unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class TooManyAttempts(TooManyRequests):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed logins; try again in {retry_after} s.", retry_after)


class InvalidCredentials(Unauthenticated):
    def __init__(self) -> None:
        super().__init__("Email or password is wrong.")


class EmailTaken(Conflict):
    def __init__(self) -> None:
        super().__init__("An account with this email already exists.")


class WeakPassword(InvalidInput):
    pass


class RoleNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"No role {name!r}.")


class RoleExists(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"A role {name!r} already exists.")


class RoleInUse(Conflict):
    def __init__(self, name: str, users: int) -> None:
        super().__init__(f"Role {name!r} is held by {users} user(s); reassign them first.")


class SystemRole(Conflict):
    def __init__(self, name: str, action: str) -> None:
        super().__init__(f"{name} is a system role and cannot be {action}.")


class UserNotFound(NotFound):
    def __init__(self, user_id: object) -> None:
        super().__init__(f"No user with id {user_id}.")


class InvalidResetToken(DomainError):
    def __init__(self) -> None:
        super().__init__("This reset link is invalid, used or expired; ask for a new one.")


class WrongPassword(Forbidden):
    def __init__(self) -> None:
        super().__init__("The current password is wrong.")


class LastRoleManager(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "This would leave no active user who may manage roles (MANAGE_ROLES); give the "
            "permission to someone else first."
        )


class Outranked(Forbidden):
    def __init__(self, missing: set[str]) -> None:
        super().__init__(
            f"This needs permissions you do not hold: {', '.join(sorted(missing))}.",
            missing=sorted(missing),
        )
