"""Users, customer accounts, subscriptions, payment methods (SPEC §2)."""

from .coupons import CouponRedemption
from .customers import Activity, Customer
from .payments import PaymentMethod
from .subscriptions import Charge, Subscription, SubscriptionItem
from .users import User, UserManager, normalize_email

__all__ = [
    "Activity",
    "Charge",
    "CouponRedemption",
    "Customer",
    "PaymentMethod",
    "Subscription",
    "SubscriptionItem",
    "User",
    "UserManager",
    "normalize_email",
]
