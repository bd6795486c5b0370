"""The Wave adapter against the built-in Wave sandbox over real HTTP (live_server)."""

import pytest

from tests.integrations.providers.test_sandbox_e2e_xero import round_trip
from tests.integrations.providers.test_sandbox_end_to_end import connect

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_wave_adapter_creates_finds_updates_and_lists_every_kind(live_server, settings):
    round_trip(connect("wave", live_server, settings), "wave")
