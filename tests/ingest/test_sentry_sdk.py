"""The real sentry-sdk client reporting into a live server, as an application would."""

import pytest
import sentry_sdk

from tests.helpers.factories import EngineerFactory, ProjectFactory
from tests.helpers.ingest import assert_consistent
from tracking.models import Activity, Error, ErrorDailyCount, ErrorOccurrence

pytestmark = pytest.mark.django_db(transaction=True)


class PaymentDeclined(Exception):
    pass


def charge(amount: int) -> None:
    if amount > 100:
        raise PaymentDeclined(f"card declined for {amount}")


def checkout(amount: int) -> None:
    try:
        charge(amount)
    except PaymentDeclined as exc:
        raise RuntimeError("checkout failed") from exc


def parse_quantity(text: str) -> int:
    return int(text)


def report_everything(client: sentry_sdk.Client, reporter_email: str) -> None:
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        scope.set_user({"id": "customer-42", "email": reporter_email, "ip_address": "198.51.100.4"})
        scope.set_tag("tenant", "acme")
        scope.set_context("cart", {"items": 3, "total": 250})
        for amount in (150, 300):  # the same failure twice: one error, two occurrences
            try:
                checkout(amount)
            except RuntimeError:
                sentry_sdk.capture_exception()
        try:
            parse_quantity("three")
        except ValueError:
            sentry_sdk.capture_exception()
        sentry_sdk.capture_message("inventory sync finished with warnings", level="warning")
    client.flush(timeout=10)


@pytest.mark.parametrize("algorithm", ["br", "gzip"])
def test_sentry_sdk_events_are_grouped_and_stored(live_server, algorithm):
    project = ProjectFactory()
    engineer = EngineerFactory(email="dana@example.com")
    client = sentry_sdk.Client(
        dsn=project.dsn(live_server.url),
        default_integrations=False,
        _experiments={"transport_compression_algo": algorithm},
    )
    try:
        report_everything(client, reporter_email="DANA@example.com")
    finally:
        client.close()

    errors = {error.exception_type or error.title: error for error in Error.objects.all()}
    assert set(errors) == {"RuntimeError", "ValueError", "inventory sync finished with warnings"}
    checkout_error = errors["RuntimeError"]
    assert checkout_error.title == "RuntimeError: checkout failed"
    assert checkout_error.occurrence_count == 2
    assert checkout_error.culprit == "tests.ingest.test_sentry_sdk in checkout"
    assert checkout_error.platform == "python"
    assert checkout_error.level == "error"
    assert len(checkout_error.fingerprint) == 64
    assert errors["ValueError"].title.startswith("ValueError: invalid literal for int()")
    message_error = errors["inventory sync finished with warnings"]
    assert message_error.level == "warning"
    assert message_error.exception_type == ""
    assert ErrorOccurrence.objects.count() == 4

    occurrence = checkout_error.occurrences.first()
    context = occurrence.occurrence_context
    assert occurrence.user == engineer  # matched by email, case-insensitively
    # Without send_default_pii the SDK drops user.ip_address: the client address is used.
    assert occurrence.ip_address == "127.0.0.1"
    assert "ip_address" not in context["user"]
    assert context["tags"]["tenant"] == "acme"
    assert context["contexts"]["cart"] == {"items": 3, "total": 250}
    assert context["user"]["id"] == "customer-42"
    # The nested cause is kept, the raised exception last.
    assert [exc["type"] for exc in context["exceptions"]] == ["PaymentDeclined", "RuntimeError"]
    raised_frames = context["exceptions"][-1]["frames"]
    assert raised_frames[-1]["function"] == "checkout"
    assert ErrorDailyCount.objects.get(error=checkout_error).count == 2
    assert Activity.objects.filter(verb="created", actor=None).count() == 3
    assert_consistent()
