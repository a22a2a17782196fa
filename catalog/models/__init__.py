"""The catalog (SPEC §1). A package: one module per family of models."""

from .base import PaymentMethod, PeriodUnit, Status
from .corporate import (
    ContractFolder,
    ContractTier,
    CorporateContract,
    CorporateOffer,
    CorporateOfferContract,
    ReportingTag,
    validate_offer_contracts,
    validate_tiers,
)
from .offers import Offer
from .products import (
    Bundle,
    BundleItem,
    Discount,
    Plan,
    PlanBundle,
    Product,
    Term,
    validate_bundle_contents,
    validate_plan_bundles,
)

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
