"""Operations of the notifications app. `emit` is what other apps call."""

from .events import Mail, emit, event_dispatch, notifications_sweep

__all__ = ["Mail", "emit", "event_dispatch", "notifications_sweep"]
