"""The catalog (SPEC §1). A package: one module per family of models."""

from .base import PaymentMethod, PeriodUnit, Status
from .bundles import (
    Bundle,
    BundleItem,
    Plan,
    PlanBundle,
    validate_bundle_contents,
    validate_plan_bundles,
)
from .corporate import (
    CorporateContract,
    CorporateOffer,
    CorporateOfferContract,
    validate_offer_contracts,
)
from .folders import ContractFolder, ReportingTag
from .offers import Offer
from .products import Discount, Product
from .terms import Term
from .tiers import ContractTier, validate_tiers

__all__ = [
    "Bundle",
    "BundleItem",
    "ContractFolder",
    "ContractTier",
    "CorporateContract",
    "CorporateOffer",
    "CorporateOfferContract",
    "Discount",
    "Offer",
    "PaymentMethod",
    "PeriodUnit",
    "Plan",
    "PlanBundle",
    "Product",
    "ReportingTag",
    "Status",
    "Term",
    "validate_bundle_contents",
    "validate_offer_contracts",
    "validate_plan_bundles",
    "validate_tiers",
]
