"""The tag facets fetch only each key's top values from the rollup."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.helpers.ingest import envelope_bytes, make_event, post
from tracking import selectors
from tracking.models import Error, ErrorTagValue

pytestmark = pytest.mark.django_db


def test_fifty_values_of_one_key_send_only_the_top_rows(client, project):
    for index in range(50):
        event = make_event(tags={"shard": f"s{index:02}"}, environment="prod")
        assert post(client, project, envelope_bytes(event)).status_code == 200
    error = Error.objects.get()
    assert ErrorTagValue.objects.filter(error=error, key="shard").count() == 50
    with CaptureQueriesContext(connection) as queries:
        facets = {facet.key: facet for facet in selectors.tag_facets(error, top=5)}
    assert len(queries.captured_queries) == 1
    shard = facets["shard"]
    assert [value.value for value in shard.values] == ["s00", "s01", "s02", "s03", "s04"]
    # The totals still count every value, not only the ones sent.
    assert shard.total == 50 and shard.others == 45
    assert round(shard.values[0].share) == 2
    # What the database sends back: the top 5 of each key, not all 50 shard rows.
    with connection.cursor() as cursor:
        cursor.execute(queries.captured_queries[0]["sql"])
        fetched = cursor.fetchall()
    assert len(fetched) == sum(len(facet.values) for facet in facets.values())
    assert len(fetched) <= 5 * len(facets) < 50
