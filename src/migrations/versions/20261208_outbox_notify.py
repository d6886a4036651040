"""outbox notify: each statement that writes outbox rows wakes the relay at commit

Revision ID: 20261208_outbox_notify
Revises: 20261207_unpaid_holds
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261208_outbox_notify"
down_revision: str | None = "20261207_unpaid_holds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Once per statement, not per row: a bulk import's COPY wakes the relay once. PostgreSQL
    # delivers it when the transaction commits, and folds repeats within one transaction.
    op.execute("""
    CREATE FUNCTION outbox_wake_relay() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('outbox', '');
        RETURN NULL;
    END $$
    """)
    op.execute("""
    CREATE TRIGGER outbox_wake_relay AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_wake_relay()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER outbox_wake_relay ON outbox")
    op.execute("DROP FUNCTION outbox_wake_relay()")
