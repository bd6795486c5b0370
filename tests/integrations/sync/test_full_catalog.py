"""The seed's headline, end to end: the demo's 3,629-item catalog goes to QuickBooks in one click,
through the sandbox over HTTP at QuickBooks' published limits (40 batches and 500 requests a minute,
10 a second, 10 in flight), across as many continuations as the time budget needs (a 45 s budget forces
some, as a 270 s budget would on a slower link). One CI run once drew a 429 here; the sandbox's report
now says which limit refused (`throttled_by`), so a recurrence names its cause. This is the suite's one
long test (about two minutes): the limits, not our code, set its length."""

from decimal import Decimal

import pytest

from catalog.models import Item
from integrations.models import ExternalLink, SyncRun
from integrations.services.sync import sync_now
from tests.integrations.sync.test_sandbox_end_to_end import (  # noqa: F401 (fixtures)
    connect,
    control,
    remote_count,
    run_to_end,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CATALOG = 3629


def test_the_whole_catalog_syncs_in_one_click_within_quickbooks_limits(connect, enqueued, organization, settings):  # noqa: F811 (connect)
    settings.SYNC_TIME_BUDGET_SECONDS = 45  # forces continuations
    connection = connect("quickbooks")
    Item.objects.bulk_create(
        Item(organization=organization, name=f"Catalog item {i:04d}", code=f"C{i:04d}", unit_price=Decimal("20.00") + i)
        for i in range(CATALOG)
    )
    run = run_to_end(sync_now(connection=connection).pk)

    report = control(connection.live_server, "quickbooks")
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.continuations >= 1 and enqueued.count(run.pk) == run.continuations + 1
    assert run.done == CATALOG and run.failed == 0
    assert remote_count(connection, "item") == CATALOG
    assert ExternalLink.objects.filter(connection=connection, kind="item", status=ExternalLink.Status.SYNCED).count() == CATALOG
    assert report["largest_batch"] <= 30
    assert report["throttled"] == 0, f"refused by {report['throttled_by']}"
    assert report["max_in_flight"] <= 10
