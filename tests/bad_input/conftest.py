"""Fixtures of the bad_input tests: a connection to a fresh sandbox company (tests.drills.sandbox), a
connected QuickBooks connection without a sandbox (tests.integrations.sync.conftest) for the API rows, and
adapters over `responses` (tests.integrations.providers.conftest) for answers the sandbox cannot give."""

from tests.drills.sandbox import connect, enqueued  # noqa: F401
from tests.integrations.providers.conftest import make_adapter, mocked  # noqa: F401
from tests.integrations.sync.conftest import connection  # noqa: F401
