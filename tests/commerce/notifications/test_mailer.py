"""The SMTP adapter against a real SMTP server: a batch goes over a few connections side by
side, each email's outcome in its place, and a refused recipient costs only its own email."""

from __future__ import annotations

import uuid

from commerce.notifications.mailer import SmtpMailer
from commerce.notifications.models import EmailDelivery
from tests.mailbox import Mailbox
from tests.served import free_port


def delivery(recipient: str) -> EmailDelivery:
    return EmailDelivery(
        id=uuid.uuid4().int % 10**9,
        recipient=recipient,
        kind="WELCOME",
        subject=f"Hello {recipient}",
        text_body="hello",
        html_body="<p>hello</p>",
        attempts=1,
    )


async def test_a_batch_is_sent_and_a_refused_recipient_fails_alone(
    smtp_server: tuple[int, Mailbox],
) -> None:
    port, mailbox = smtp_server
    tag = uuid.uuid4().hex[:8]
    batch = [delivery(f"{who}-{tag}@mail.example.com") for who in ("first", "bounce", "last")]

    outcomes = await SmtpMailer("127.0.0.1", port, "shop@mail.example.com").send_all(batch)

    assert [error is None for error in outcomes] == [True, False, True]
    assert "451" in str(outcomes[1])
    for sent in (batch[0], batch[2]):
        [received] = mailbox.to(sent.recipient)
        assert received["Subject"] == sent.subject


async def test_a_batch_larger_than_its_connections_keeps_each_outcome_in_its_place(
    smtp_server: tuple[int, Mailbox],
) -> None:
    port, mailbox = smtp_server
    tag = uuid.uuid4().hex[:8]
    who = [f"bounce{n}" if n in (2, 6) else f"reader{n}" for n in range(11)]
    batch = [delivery(f"{name}-{tag}@mail.example.com") for name in who]

    mailer = SmtpMailer("127.0.0.1", port, "shop@mail.example.com", connections=3)
    outcomes = await mailer.send_all(batch)

    assert [error is None for error in outcomes] == [not name.startswith("bounce") for name in who]
    for sent, error in zip(batch, outcomes, strict=True):
        assert len(mailbox.to(sent.recipient)) == (1 if error is None else 0)


async def test_an_unreachable_server_fails_every_email_of_the_batch() -> None:
    batch = [delivery(f"nobody-{n}@mail.example.com") for n in range(3)]

    outcomes = await SmtpMailer(
        "127.0.0.1", free_port(), "shop@mail.example.com", timeout=5
    ).send_all(batch)

    assert len(outcomes) == 3 and all(isinstance(error, OSError) for error in outcomes)


async def test_unicode_subjects_and_bodies_arrive_as_written(
    smtp_server: tuple[int, Mailbox],
) -> None:
    port, mailbox = smtp_server
    sent = delivery(f"zoe-{uuid.uuid4().hex[:8]}@mail.example.com")
    sent.subject = "Zoë, your order is on its way — it took a long long long long long time ✓"
    sent.text_body = "Grüße aus Köln: 12,00 €"
    sent.html_body = "<p>Grüße aus Köln: 12,00 €</p>"

    [error] = await SmtpMailer("127.0.0.1", port, "Shop <shop@mail.example.com>").send_all([sent])

    assert error is None
    [received] = mailbox.to(sent.recipient)
    assert received["Subject"] == sent.subject
    assert Mailbox.text(received).strip() == sent.text_body
    assert Mailbox.html(received).strip() == sent.html_body
    assert received["Message-ID"] == f"<delivery-{sent.id}@mail.example.com>"
