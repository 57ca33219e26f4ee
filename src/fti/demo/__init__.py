"""The credit-card demo: seeded synthetic data (:mod:`fti.demo.data`) and its pipelines."""

from fti.demo.data import CreditCardData, generate

__all__ = ["CreditCardData", "generate"]
