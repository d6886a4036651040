"""Email templates (Jinja2): each kind has a text and an HTML version; the text's first
line is the subject. HTML is autoescaped, so a product or person's name cannot inject markup."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


class Kind(StrEnum):
    WELCOME = "welcome"
    ORDER_CONFIRMATION = "order_confirmation"
    PAYMENT_RECEIPT = "payment_receipt"
    SHIPMENT = "shipment"
    DELIVERY = "delivery"
    CANCELLATION = "cancellation"
    REFUND = "refund"
    LOW_STOCK = "low_stock"
    ACHIEVEMENT_UNLOCKED = "achievement_unlocked"
    QUEST_COMPLETED = "quest_completed"
    PASSWORD_RESET = "password_reset"


#: Sent whatever the user's preferences: they keep the account theirs.
CRITICAL = frozenset({Kind.PASSWORD_RESET})
#: Their body holds a secret: emptied once the email is sent.
SECRET = frozenset({Kind.PASSWORD_RESET})

ENVIRONMENT = Environment(
    loader=PackageLoader("commerce.notifications", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    # A context missing a field fails the render (and the test), not a blank in an email.
    undefined=StrictUndefined,
)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(kind: Kind, context: dict[str, Any]) -> Rendered:
    text = ENVIRONMENT.get_template(f"{kind}.txt.j2").render(context)
    subject, _, body = text.partition("\n")
    html = ENVIRONMENT.get_template(f"{kind}.html.j2").render(context)
    return Rendered(subject=subject.strip()[:200], text=body.strip() + "\n", html=html)
