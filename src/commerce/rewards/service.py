"""Achievements and quests: what customers see and start, what staff define, and `review`,
which the worker runs after each change to a customer's orders."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from commerce.events import AchievementUnlocked, Envelope, QuestCompleted, QuestReopened
from commerce.outbox import add_event
from commerce.pages import Page
from commerce.promotions.models import Coupon
from commerce.promotions.service import grant_personal_code, withdraw_unused
from commerce.rewards.achievements import ACHIEVEMENTS
from commerce.rewards.errors import (
    QuestAlreadyStarted,
    QuestNotFound,
    QuestNotOpen,
    RewardSpent,
)
from commerce.rewards.models import Quest, QuestEnrolment
from commerce.rewards.repository import RewardsRepository
from commerce.rewards.schemas import (
    AchievementOut,
    EnrolmentOut,
    QuestIn,
    QuestOut,
    QuestPatch,
    Reward,
)
from commerce.rewards.standing import (
    KeptOrder,
    Measure,
    TakeBack,
    kept_orders,
    kept_orders_of,
    progress,
    within,
)
from commerce.unit_of_work import UnitOfWork

REWARD_PREFIX = "QUEST"


async def achievements_of(session: AsyncSession, user_id: uuid.UUID) -> list[AchievementOut]:
    orders = await kept_orders(session, user_id)
    unlocked = await RewardsRepository(session).unlocked(user_id)
    return [
        AchievementOut(
            code=a.code,
            title=a.title,
            description=a.description,
            goal=a.goal,
            progress=min(progress(a.measure, orders), a.goal),
            unlocked_at=unlocked.get(a.code),
        )
        for a in ACHIEVEMENTS
    ]


async def open_quests(session: AsyncSession, now: datetime) -> list[QuestOut]:
    return [QuestOut.model_validate(q) for q in await RewardsRepository(session).open_quests(now)]


async def start_quest(
    session: AsyncSession, user_id: uuid.UUID, quest_id: uuid.UUID, now: datetime
) -> EnrolmentOut:
    repo = RewardsRepository(session)
    quest = await repo.quest(quest_id)
    if quest is None or not quest.active:
        raise QuestNotFound(quest_id)
    if not quest.starts_at <= now < quest.ends_at:
        raise QuestNotOpen(f"Quest {quest_id} runs from {quest.starts_at} to {quest.ends_at}.")
    if not await repo.enrol(user_id, quest_id, now):
        raise QuestAlreadyStarted(quest_id)
    return EnrolmentOut(
        quest=QuestOut.model_validate(quest),
        started_at=now,
        progress=progress(Measure(quest.goal_kind), []),  # nothing counts before the start
        completed_at=None,
        reward=None,
    )


async def my_quests(session: AsyncSession, user_id: uuid.UUID) -> list[EnrolmentOut]:
    rows = await RewardsRepository(session).enrolments(user_id)
    orders = await kept_orders(session, user_id)
    return [_enrolment(e, q, c, orders) for e, q, c in rows]


def _enrolment(
    enrolment: QuestEnrolment, quest: Quest, coupon: Coupon | None, orders: list[KeptOrder]
) -> EnrolmentOut:
    counted = within(orders, enrolment.started_at, quest.ends_at)
    reward = None
    if coupon is not None:
        reward = Reward(
            code=coupon.code,
            percent=coupon.value,
            expires_at=coupon.valid_to,
            used=coupon.times_used > 0,
        )
    return EnrolmentOut(
        quest=QuestOut.model_validate(quest),
        started_at=enrolment.started_at,
        progress=min(progress(Measure(quest.goal_kind), counted), quest.goal),
        completed_at=enrolment.completed_at,
        reward=reward,
    )


async def create_quest(session: AsyncSession, data: QuestIn) -> QuestOut:
    quest = Quest(id=uuid.uuid4(), active=True, **data.model_dump())
    session.add(quest)
    await session.flush()
    return QuestOut.model_validate(quest)


async def list_quests(session: AsyncSession, *, page: int, size: int) -> Page[QuestOut]:
    quests, total = await RewardsRepository(session).quest_page(
        offset=(page - 1) * size, limit=size
    )
    items = [QuestOut.model_validate(q) for q in quests]
    return Page[QuestOut](items=items, total=total, page=page, size=size)


async def update_quest(session: AsyncSession, quest_id: uuid.UUID, patch: QuestPatch) -> QuestOut:
    quest = await RewardsRepository(session).quest(quest_id, for_update=True)
    if quest is None:
        raise QuestNotFound(quest_id)
    changes = patch.model_dump(exclude_unset=True)
    if changes.get("ends_at") is not None and changes["ends_at"] <= quest.starts_at:
        raise QuestNotOpen("ends_at must be after the quest's starts_at.")
    for name, value in changes.items():
        if value is not None:
            setattr(quest, name, value)
    await session.flush()
    return QuestOut.model_validate(quest)


async def review(session: AsyncSession, customer_id: uuid.UUID, now: datetime) -> None:
    """After a customer's order was paid, cancelled or returned: see `review_all`."""
    await review_all(session, {customer_id: now})


async def review_all(session: AsyncSession, due: Mapping[uuid.UUID, datetime]) -> None:
    """After customers' orders were paid, cancelled or returned (each customer reviewed as of
    the time given): unlock what they reached (once), complete quests that reached their
    goal (granting a reward code), and reopen completed ones an order took back below it
    (withdrawing the code if still unused). Read once for all of them: the worker reviews a
    batch of orders' events at a time."""
    # The enrolments are locked first: two of a customer's orders reviewed at once (the
    # worker runs different orders side by side) must not both grant a reward.
    enrolments = await RewardsRepository(session).lock_enrolments(sorted(due))
    orders = await kept_orders_of(session, due)
    await _unlock(session, {customer_id: orders.get(customer_id, []) for customer_id in due})
    for enrolment, quest in enrolments:
        kept = within(orders.get(enrolment.user_id, []), enrolment.started_at, quest.ends_at)
        reached = progress(Measure(quest.goal_kind), kept)
        if enrolment.completed_at is None and reached >= quest.goal:
            await _complete(session, enrolment, quest, due[enrolment.user_id])
        elif enrolment.completed_at is not None and reached < quest.goal:
            await _reopen(session, enrolment, quest)


async def _unlock(session: AsyncSession, orders: Mapping[uuid.UUID, list[KeptOrder]]) -> None:
    repo = RewardsRepository(session)
    reached = {
        customer_id: [a for a in ACHIEVEMENTS if progress(a.measure, kept) >= a.goal]
        for customer_id, kept in orders.items()
    }
    # Most reviews reach nothing new: one read instead of an insert per achievement reached.
    reaching = sorted(customer_id for customer_id, met in reached.items() if met)
    unlocked = await repo.unlocked_of(reaching) if reaching else {}
    # In customer order: two workers unlocking for the same customers cannot deadlock.
    for customer_id in reaching:
        for achievement in reached[customer_id]:
            if achievement.code in unlocked.get(customer_id, {}):
                continue
            if await repo.unlock(customer_id, achievement.code):
                event = AchievementUnlocked(
                    customer_id=customer_id,
                    code=achievement.code,
                    title=achievement.title,
                    description=achievement.description,
                )
                add_event(session, "achievement.unlocked", customer_id, 1, event)


async def _complete(
    session: AsyncSession, enrolment: QuestEnrolment, quest: Quest, now: datetime
) -> None:
    expires = now + timedelta(days=quest.reward_days)
    code = await grant_personal_code(
        session, enrolment.user_id, quest.reward_percent, expires, REWARD_PREFIX
    )
    enrolment.completed_at = now
    enrolment.reward_coupon_id = code.id
    event = QuestCompleted(
        customer_id=enrolment.user_id,
        quest_id=quest.id,
        title=quest.title,
        reward_code=code.code,
        reward_percent=quest.reward_percent,
        reward_expires_at=expires,
    )
    add_event(session, "quest.completed", enrolment.user_id, 1, event)


async def _reopen(session: AsyncSession, enrolment: QuestEnrolment, quest: Quest) -> None:
    if enrolment.reward_coupon_id is not None and not await withdraw_unused(
        session, enrolment.reward_coupon_id
    ):
        return  # the reward was already spent: the quest stays completed
    enrolment.completed_at = None
    enrolment.reward_coupon_id = None
    event = QuestReopened(customer_id=enrolment.user_id, quest_id=quest.id, title=quest.title)
    add_event(session, "quest.reopened", enrolment.user_id, 1, event)


async def guard_take_back(
    session: AsyncSession, customer_id: uuid.UUID, taking_back: TakeBack
) -> None:
    """Refuse (409) a customer's cancellation or return that would take a completed quest
    below its goal while its reward code is spent on another order that still stands:
    otherwise cheap orders earn a large discount and are then refunded in full. Cancelling
    the order that used the code first gives the code back, and then this one may go."""
    repo = RewardsRepository(session)
    spent = await repo.rewards_spent_elsewhere(customer_id, taking_back.order_id)
    if not spent:
        return
    after = await kept_orders(session, customer_id, taking_back=taking_back)
    for quest, started_at, code, order_id in spent:
        counted = within(after, started_at, quest.ends_at)
        if order_id is not None and progress(Measure(quest.goal_kind), counted) < quest.goal:
            raise RewardSpent(quest.title, code, order_id)


async def review_steps(events: Sequence[Envelope], uow: UnitOfWork) -> None:
    """The worker's step for a batch of order.confirmed, order.cancelled and order.returned:
    each customer reviewed once, as of their first event in it."""
    due: dict[uuid.UUID, datetime] = {}
    for event in events:
        due.setdefault(uuid.UUID(str(event.payload["customer_id"])), event.occurred_at)
    await review_all(uow.session, due)
