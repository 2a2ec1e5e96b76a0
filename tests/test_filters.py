"""Each inbox filter narrows the rows it should, through the real inbox view."""

import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.helpers import factories
from tests.helpers.ingested import ingest
from tracking import selectors
from tracking.filters import ErrorFilter
from tracking.models import Error


def titles(client, query: str) -> set[str]:
    response = client.get(f"/?{query}", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    assert response.status_code == 200
    return set(re.findall(r"data-row-link>([^<]+)</a>", response.content.decode()))


@pytest.fixture
def other_project(db):
    return factories.ProjectFactory(name="Billing", slug="billing")


def test_no_filter_shows_unresolved_of_every_project(engineer_client, project, other_project):
    factories.ErrorFactory(project=project, title="A")
    factories.ErrorFactory(project=other_project, title="B")
    factories.ErrorFactory(project=project, title="Ignored", status="ignored")
    assert titles(engineer_client, "") == {"A", "B"}


def test_project(engineer_client, project, other_project):
    factories.ErrorFactory(project=project, title="Checkout error")
    factories.ErrorFactory(project=other_project, title="Billing error")
    assert titles(engineer_client, f"project={other_project.pk}") == {"Billing error"}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("unresolved", {"Open"}),
        ("resolved", {"Fixed"}),
        ("ignored", {"Muted"}),
        ("duplicate", {"Copy"}),
        ("any", {"Open", "Fixed", "Muted", "Copy"}),
    ],
)
def test_status(engineer_client, project, status, expected):
    factories.ErrorFactory(project=project, title="Open")
    factories.ErrorFactory(project=project, title="Fixed", status="resolved")
    factories.ErrorFactory(project=project, title="Muted", status="ignored")
    factories.ErrorFactory(project=project, title="Copy", status="duplicate")
    assert titles(engineer_client, f"status={status}") == expected


def test_level(engineer_client, project):
    factories.ErrorFactory(project=project, title="Fatal one", level="fatal")
    factories.ErrorFactory(project=project, title="Warning one", level="warning")
    assert titles(engineer_client, "level=warning") == {"Warning one"}


def test_assignee_me_unassigned_and_person(engineer_client, engineer, other_engineer, project):
    mine = factories.ErrorFactory(project=project, title="Mine")
    factories.ErrorAssignmentFactory(error=mine, assigned_to=engineer)
    theirs = factories.ErrorFactory(project=project, title="Theirs")
    factories.ErrorAssignmentFactory(error=theirs, assigned_to=other_engineer)
    factories.ErrorFactory(project=project, title="Nobody")
    formerly = factories.ErrorFactory(project=project, title="Formerly mine")
    factories.ErrorAssignmentFactory(error=formerly, assigned_to=engineer, is_active=False)

    assert titles(engineer_client, "assignee=me") == {"Mine"}
    assert titles(engineer_client, "assignee=none") == {"Nobody", "Formerly mine"}
    assert titles(engineer_client, f"assignee={other_engineer.pk}") == {"Theirs"}


@pytest.fixture(params=[2000, 0], ids=["by id", "by exists"])
def either_way(request, monkeypatch):
    """Filters on another table name their errors by id up to a bound, by EXISTS past it:
    both must select the same rows."""
    from tracking.selectors import search

    monkeypatch.setattr(search, "NAMED_BY_ID_MAX", request.param)


def test_escalated_means_unacknowledged(engineer_client, project, either_way):
    waiting = factories.ErrorFactory(project=project, title="Waiting")
    factories.ErrorEscalationFactory(error=waiting)
    handled = factories.ErrorFactory(project=project, title="Handled")
    factories.ErrorEscalationFactory(error=handled, acknowledged_at=timezone.now())
    factories.ErrorFactory(project=project, title="Calm")
    assert titles(engineer_client, "escalated=on") == {"Waiting"}


def test_escalation_level_alone_and_with_escalated(engineer_client, project, either_way):
    critical = factories.ErrorFactory(project=project, title="Critical open")
    factories.ErrorEscalationFactory(error=critical, escalation_level="critical")
    critical_acked = factories.ErrorFactory(project=project, title="Critical acked")
    factories.ErrorEscalationFactory(
        error=critical_acked, escalation_level="critical", acknowledged_at=timezone.now()
    )
    # An open low escalation plus an acknowledged critical one: not "open critical".
    mixed = factories.ErrorFactory(project=project, title="Mixed")
    factories.ErrorEscalationFactory(error=mixed, escalation_level="low")
    factories.ErrorEscalationFactory(
        error=mixed, escalation_level="critical", acknowledged_at=timezone.now()
    )
    assert titles(engineer_client, "escalation_level=critical") == {
        "Critical open",
        "Critical acked",
        "Mixed",
    }
    assert titles(engineer_client, "escalation_level=critical&escalated=on") == {"Critical open"}


def test_overdue(engineer_client, project, either_way):
    now = timezone.now()
    late = factories.ErrorFactory(project=project, title="Late")
    factories.ErrorAssignmentFactory(error=late, due_date=now - timedelta(hours=2))
    on_time = factories.ErrorFactory(project=project, title="On time")
    factories.ErrorAssignmentFactory(error=on_time, due_date=now + timedelta(days=2))
    old = factories.ErrorFactory(project=project, title="Late but reassigned")
    factories.ErrorAssignmentFactory(error=old, due_date=now - timedelta(days=2), is_active=False)
    assert titles(engineer_client, "overdue=on") == {"Late"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("environment=staging", {"Staging: s"}),
        ("environment=production", {"Production: p"}),
        ("release=shop%401.2.0", {"Staging: s"}),
        ("environment=production&release=shop%401.2.0", set()),
    ],
)
def test_environment_and_release(engineer_client, project, query, expected):
    # Read from the tag rollup ingestion keeps, so the events come through ingestion.
    ingest(project, exc_type="Staging", value="s", environment="staging", release="shop@1.2.0")
    ingest(project, exc_type="Production", value="p", environment="production", release="shop@1.3")
    assert titles(engineer_client, query) == expected


def test_first_and_last_seen_ranges(engineer_client, project):
    now = timezone.localtime()
    factories.ErrorFactory(
        project=project,
        title="Old",
        first_seen=now - timedelta(days=20),
        last_seen=now - timedelta(days=10),
    )
    factories.ErrorFactory(
        project=project, title="New", first_seen=now - timedelta(days=1), last_seen=now
    )
    day = (now - timedelta(days=5)).date().isoformat()
    assert titles(engineer_client, f"first_seen_from={day}") == {"New"}
    assert titles(engineer_client, f"first_seen_to={day}") == {"Old"}
    assert titles(engineer_client, f"last_seen_from={day}") == {"New"}
    assert titles(engineer_client, f"last_seen_to={day}") == {"Old"}
    # "To" includes the whole of that day.
    today = now.date().isoformat()
    assert titles(engineer_client, f"last_seen_to={today}") == {"Old", "New"}


@pytest.mark.parametrize("query", ["q=timeout", "q=TIMEOUT", "q=payments.gateway", "q=upstream"])
def test_free_text_searches_title_message_and_culprit(engineer_client, project, query):
    factories.ErrorFactory(
        project=project,
        title="TimeoutError: read timeout",
        message="upstream did not answer",
        culprit="payments.gateway in charge",
    )
    factories.ErrorFactory(project=project, title="KeyError: 'sku'", culprit="shop.cart in add")
    assert titles(engineer_client, query) == {"TimeoutError: read timeout"}


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("last_seen", ["Recent", "Busy", "Fatal"]),
        ("first_seen", ["Fatal", "Recent", "Busy"]),
        ("count", ["Busy", "Fatal", "Recent"]),
        ("level", ["Fatal", "Recent", "Busy"]),
    ],
)
def test_sort(engineer_client, project, sort, expected):
    now = timezone.now()
    factories.ErrorFactory(
        project=project,
        title="Recent",
        level="error",
        last_seen=now,
        first_seen=now - timedelta(days=2),
        occurrence_count=1,
    )
    factories.ErrorFactory(
        project=project,
        title="Busy",
        level="warning",
        last_seen=now - timedelta(hours=1),
        first_seen=now - timedelta(days=3),
        occurrence_count=900,
    )
    factories.ErrorFactory(
        project=project,
        title="Fatal",
        level="fatal",
        last_seen=now - timedelta(hours=2),
        first_seen=now - timedelta(days=1),
        occurrence_count=40,
    )
    response = engineer_client.get(f"/?sort={sort}")
    assert re.findall(r"data-row-link>([^<]+)</a>", response.content.decode()) == expected


def test_invalid_values_are_reported_not_crashing(engineer_client, project):
    factories.ErrorFactory(project=project, title="Still listed")
    response = engineer_client.get("/?project=999999&level=nonsense&first_seen_from=yesterday")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="form-errors"' in html
    assert "Still listed" in html


def test_filterset_defaults_and_active_count(engineer, rf, project):
    request = rf.get("/")
    request.user = engineer
    filterset = ErrorFilter(request.GET, queryset=Error.objects.all(), request=request)
    assert filterset.form.is_valid()
    assert filterset.form.cleaned_data["status"] == "unresolved"
    assert filterset.sort_key == "last_seen"
    assert filterset.active_filter_count == 0

    request = rf.get("/", {"level": "fatal", "overdue": "on", "sort": "count"})
    request.user = engineer
    filterset = ErrorFilter(request.GET, queryset=Error.objects.all(), request=request)
    assert filterset.sort_key == "count"
    assert filterset.active_filter_count == 2


def test_resolved_or_ignored_work_is_never_overdue(engineer_client, engineer, project):
    # Assignments stay active on resolve/ignore (a regression returns to the owner), but
    # only unresolved work counts as open: not overdue, not in My work.
    past = timezone.now() - timedelta(hours=2)
    for status in ("resolved", "ignored"):
        error = factories.ErrorFactory(project=project, title=f"Late {status}", status=status)
        factories.ErrorAssignmentFactory(error=error, assigned_to=engineer, due_date=past)
    assert titles(engineer_client, "overdue=on&status=any") == set()
    work = selectors.my_work(engineer, now=timezone.now())
    assert work.assignments == [] and work.assignments_total == 0
    assert selectors.dashboard(now=timezone.now(), user=engineer).overdue_assignments == 0


# Search ------------------------------------------------------------------------------


def test_search_matches_every_word_in_any_order(engineer_client, project):
    factories.ErrorFactory(project=project, title="TimeoutError: payment gateway", culprit="shop")
    factories.ErrorFactory(project=project, title="TimeoutError: mail", culprit="gateway.send")
    factories.ErrorFactory(project=project, title="KeyError: gateway payment")
    assert titles(engineer_client, "q=gateway+timeout") == {
        "TimeoutError: payment gateway",
        "TimeoutError: mail",
    }
    assert titles(engineer_client, "q=payment+timeouterror") == {"TimeoutError: payment gateway"}
    # A quoted phrase is one term.
    assert titles(engineer_client, "q=%22gateway+payment%22") == {"KeyError: gateway payment"}


def test_search_by_email_matches_errors_of_that_account(engineer_client, project, other_engineer):
    other_engineer.email = "linus@example.com"
    other_engineer.save()
    mine = factories.ErrorFactory(project=project, title="KeyError: cart")
    factories.ErrorFactory(project=project, title="KeyError: wishlist")
    factories.ErrorOccurrenceFactory(error=mine, user=other_engineer)
    assert titles(engineer_client, "q=LINUS@example.com") == {"KeyError: cart"}


def test_an_event_id_opens_its_error(client, engineer_client, project):
    from tests.helpers.ingest import envelope_bytes, make_event, post

    event = make_event(exc_type="PaymentError", value="card declined")
    assert post(client, project, envelope_bytes(event)).status_code == 200
    error = Error.objects.get(exception_type="PaymentError")
    for written in (
        event["event_id"],
        str(uuid.UUID(event["event_id"])).upper(),
        # Pasted after the box's starting "is:unresolved".
        f"is:unresolved {event['event_id']}",
    ):
        response = engineer_client.get("/", {"q": f" {written} "})
        assert response.status_code == 302
        assert response["Location"] == f"/errors/{error.pk}/"
    # htmx (live search) is sent to the page too.
    response = engineer_client.get(
        "/", {"q": event["event_id"]}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results"
    )
    assert response["HX-Redirect"] == f"/errors/{error.pk}/"
    # An unknown id searches as text and finds nothing.
    assert titles(engineer_client, f"q={uuid.uuid4().hex}") == set()


def test_an_empty_search_says_what_was_searched_and_how_to_widen_it(engineer_client, project):
    factories.ErrorFactory(project=project, title="KeyError: 'sku'", status="resolved")
    response = engineer_client.get(
        "/?q=sku+key&level=error", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results"
    )
    html = response.content.decode()
    assert "No unresolved errors match “sku key”" in html
    assert ">Search all statuses<" in html and "status=any" in html
    assert ">Keep only the search<" in html and ">Clear the search<" in html
