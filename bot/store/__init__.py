"""Durable state: the delivery log that makes every send exactly-once, and the proof records the chase asks about."""

from bot.store.base import Claim, DeliveryRecord, DeliveryStatus, Store

__all__ = ["Claim", "DeliveryRecord", "DeliveryStatus", "Store"]
