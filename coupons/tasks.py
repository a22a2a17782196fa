"""Django-Q2 tasks of the coupons app: thin, safe to run twice, each calls one service."""

from coupons.services import campaign_generate_codes, campaigns_generate_due


def generate_codes(campaign_id: int) -> int:
    """Generate a campaign's codes (queued when a large campaign is committed); a done
    campaign is skipped, a half-done one resumes. Returns how many codes it has."""
    return campaign_generate_codes(campaign_id=campaign_id).generated_count


def generate_due() -> int:
    """Finish generation a lost task left undone (every 5 minutes)."""
    return campaigns_generate_due()
