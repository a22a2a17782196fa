"""Operations of the coupons app: one function per use case (see the modules).

`campaigns`: create, change, enable/disable, generate codes (the bulk path), generate N
more codes (the API hook). `redemption`: look up, check, claim and release a code, and
enable/disable codes. `throttle`: wrong guesses per client or account.
"""

from .campaigns import (
    campaign_check,
    campaign_create,
    campaign_disable,
    campaign_enable,
    campaign_generate_codes,
    campaign_update,
    campaigns_generate_due,
    codes_generate,
    codes_generate_later,
)
from .redemption import (
    code_check,
    code_claim,
    code_disable,
    code_enable,
    code_lookup,
    code_release,
    codes_disable,
    codes_enable,
)
from .throttle import guess_record_failure, guess_throttle_check

__all__ = [
    "campaign_check",
    "campaign_create",
    "campaign_disable",
    "campaign_enable",
    "campaign_generate_codes",
    "campaign_update",
    "campaigns_generate_due",
    "code_check",
    "code_claim",
    "code_disable",
    "code_enable",
    "code_lookup",
    "code_release",
    "codes_disable",
    "codes_enable",
    "codes_generate",
    "codes_generate_later",
    "guess_record_failure",
    "guess_throttle_check",
]
