"""a transaction writing outbox rows shows, until it ends, the lowest seq it may hold

Before drawing its first seq, a transaction takes a shared advisory lock keyed by the
sequence's next value then (at or below any seq it draws) and holds it to commit or
rollback. Lock state is not MVCC: a reader sees every running writer at once, so the seqs
below the lowest such key are settled however long a transaction runs
(`commerce.outbox.SETTLED_SEQ`). This replaces "a transaction commits within 5 seconds of
writing an outbox row", which checkouts under load broke: a row committed 5 s late was
passed over by the relay and never published.

Revision ID: 20261126_outbox_settled
Revises: 20261126_checkout
Create Date: 2026-11-26 10:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261126_outbox_settled"
down_revision: str | None = "20261126_checkout"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Keys at and above 2**62 are outbox pins (commerce.outbox.PIN_BASE).
PIN = """
CREATE FUNCTION outbox_pin_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('storefront.outbox_pinned', true) IS DISTINCT FROM 'yes' THEN
        PERFORM pg_advisory_xact_lock_shared((1::bigint << 62) + (
            SELECT last_value + CASE WHEN is_called THEN 1 ELSE 0 END FROM outbox_seq_seq));
        PERFORM set_config('storefront.outbox_pinned', 'yes', true);
    END IF;
    NEW.seq := nextval('outbox_seq_seq');
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    op.execute(PIN)
    # The trigger draws the seq, after the pin: a default would draw one before it.
    op.execute("ALTER TABLE outbox ALTER COLUMN seq DROP DEFAULT")
    op.execute(
        "CREATE TRIGGER outbox_pin_seq BEFORE INSERT ON outbox "
        "FOR EACH ROW EXECUTE FUNCTION outbox_pin_seq()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER outbox_pin_seq ON outbox")
    op.execute("DROP FUNCTION outbox_pin_seq()")
    op.execute("ALTER TABLE outbox ALTER COLUMN seq SET DEFAULT nextval('outbox_seq_seq')")
