"""Operations that change state in this app (see STYLE.md: one service per use case)."""

from django.conf import settings
from django.db import transaction

from subscriptions.models import User


@transaction.atomic
def user_set_language(*, user: User, language: str) -> User:
    """Remember the user's language for pages and e-mails; unknown codes are ignored."""
    if language not in dict(settings.LANGUAGES) or user.language == language:
        return user
    user.language = language
    user.save(update_fields=["language"])
    return user
