"""Which adapter class speaks for which provider."""

from __future__ import annotations

from .base import ProviderAdapter
from .freshbooks import FreshBooksAdapter
from .quickbooks import QuickBooksAdapter
from .wave import WaveAdapter
from .xero import XeroAdapter

ADAPTERS: dict[str, type[ProviderAdapter]] = {
    "quickbooks": QuickBooksAdapter,
    "xero": XeroAdapter,
    "freshbooks": FreshBooksAdapter,
    "wave": WaveAdapter,
}


def adapter_class(provider: str) -> type[ProviderAdapter]:
    """The ProviderAdapter subclass for "quickbooks", "xero", "freshbooks" or "wave"."""
    try:
        return ADAPTERS[provider]
    except KeyError:
        raise ValueError(f"Unknown provider {provider!r}") from None


def build_adapter(provider, *, config, company_id, token_provider, throttle=None, session=None, timeout=30.0) -> ProviderAdapter:
    """An adapter for one connected company (see ProviderAdapter.__init__)."""
    return adapter_class(provider)(
        config=config, company_id=company_id, token_provider=token_provider, throttle=throttle, session=session, timeout=timeout
    )
