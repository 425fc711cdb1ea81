"""The yearly account review in LINE: each supervisor gets their staff's accounts as cards with
คงไว้ / ปรับสิทธิ์ / ยกเลิก, is reminded weekly, and is escalated to their own supervisor when late."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from handlers import postback, texts
from handlers.accounts import task_to_owner
from handlers.context import Context, Settings
from handlers.messages import Message, bubble, postback_action, text
from models import accounts, reviews
from models.reviews import DECISIONS, ReviewItem
from models.thai_dates import thai_date

DECIDE = "rv"
CAROUSEL_MAX = 12
REMIND_EVERY = timedelta(days=7)


def item_cards(items: list[ReviewItem], year: int) -> list[Message]:
    """Carousels of up to 12 accounts each."""
    messages: list[Message] = []
    for start in range(0, len(items), CAROUSEL_MAX):
        chunk = items[start : start + CAROUSEL_MAX]
        cards = [bubble("", item.staff.name, [f"ระบบ: {item.system.name}", f"สิทธิ์: {item.rights or '-'}"],
                        [postback_action(label, DECIDE, display=f"{label}: {item.staff.first_name} {item.system.name}",
                                         i=item.id, d=key) for key, label in DECISIONS.items()])["contents"]
                 for item in chunk]
        messages.append({"type": "flex", "altText": f"ทบทวนบัญชีผู้ใช้ประจำปี {year}: {len(chunk)} รายการ",
                         "contents": {"type": "carousel", "contents": cards}})
    return messages


def run(session: Session, now: datetime, settings: Settings) -> int:
    """Start this year's campaign when its date has come; remind and escalate what waits."""
    ctx = Context.for_job(session, now, settings)
    sent = 0
    year = reviews.campaign_due(now, settings.account_review_date)
    campaign = reviews.start_campaign(session, year, now, settings.account_review_days) if year else None
    if campaign is not None:
        for reviewer in reviews.reviewers(session, campaign):
            items = reviews.items_for(session, campaign, reviewer)
            if reviewer.line_user_id and items:
                due = campaign.due_at
                ctx.push(reviewer.line_user_id, text(texts.REVIEW_START.format(
                    year=year, count=len(items), due=thai_date(due))), *item_cards(items, year))
                sent += 1
    remind, escalated = reviews.overdue(session, now, REMIND_EVERY)
    for reviewer in remind:
        for campaign_row in _campaigns_of(session):
            items = reviews.items_for(session, campaign_row, reviewer)
            if items and reviewer.line_user_id:
                ctx.push(reviewer.line_user_id, text(texts.REVIEW_REMINDER.format(
                    year=campaign_row.year, count=len(items))), *item_cards(items, campaign_row.year))
                sent += 1
    by_boss: dict[int, list[ReviewItem]] = {}
    for item in escalated:
        by_boss.setdefault(item.escalated_to_id or 0, []).append(item)
    for items in by_boss.values():
        boss = items[0].escalated_to
        campaign_row = session.get(reviews.ReviewCampaign, items[0].campaign_id)
        if boss is not None and boss.line_user_id and campaign_row is not None:
            ctx.push(boss.line_user_id, text(texts.REVIEW_ESCALATED.format(year=campaign_row.year, count=len(items))),
                     *item_cards(items, campaign_row.year))
            sent += 1
    ctx.flush()
    return sent


def _campaigns_of(session: Session) -> list[reviews.ReviewCampaign]:
    from sqlalchemy import select

    return list(session.scalars(select(reviews.ReviewCampaign).order_by(reviews.ReviewCampaign.year)))


def on_decide(ctx: Context) -> None:
    pb = ctx.postback
    if pb is None or ctx.staff is None:
        return
    item_id = postback.row_id(pb)
    if item_id is None:
        ctx.reply(text(texts.STALE_BUTTON))
        return
    item = reviews.decide(ctx.session, item_id, ctx.staff, pb.params.get("d", ""), ctx.now)
    if item is None:
        ctx.reply(text(texts.REVIEW_REFUSED))
        return
    decision = DECISIONS[item.decision or "keep"]
    ctx.reply(text(texts.REVIEW_RECORDED.format(name=item.staff.name, system=item.system.name, decision=decision)))
    if item.request_number:
        request = accounts.by_number(ctx.session, item.request_number)
        if request is not None:
            task_to_owner(ctx, request)
