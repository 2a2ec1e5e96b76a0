"""tracking/templatetags/tracking_tags.py: the escalation countdown's wording."""

from datetime import UTC, datetime, timedelta

import time_machine
from django.template import Context, Template

from tracking.models import Activity, ActivityVerb
from tracking.templatetags.tracking_tags import ack_countdown, names_an_issue

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@time_machine.travel(NOW, tick=False)
def test_the_countdown_says_minutes_then_a_minute_then_that_it_passed():
    assert (
        ack_countdown(NOW + timedelta(minutes=12)) == "acknowledge within 12\xa0minutes"
    )  # timeuntil keeps the two together
    assert ack_countdown(NOW + timedelta(seconds=17)) == "acknowledge within a minute"
    assert ack_countdown(NOW) == "deadline passed: moving to the next step"
    assert ack_countdown(None) == ""


@time_machine.travel(NOW, tick=False)
def test_the_countdown_hands_its_words_to_the_script():
    """static/js/countdown.js fills in only the duration: every phrase comes from here."""
    html = Template("{% load tracking_tags %}{% countdown deadline %}").render(
        Context({"deadline": NOW + timedelta(minutes=12)})
    )
    assert 'data-deadline="2026-03-01T12:12:00+00:00"' in html
    assert 'data-within="acknowledge within {}"' in html
    assert 'data-last-minute="acknowledge within a minute"' in html
    assert 'data-passed="deadline passed: moving to the next step"' in html
    assert ">acknowledge within 12\xa0minutes</span>" in html
    assert Template("{% load tracking_tags %}{% countdown None %}").render(Context()) == ""


def test_only_link_and_unlink_rows_name_an_issue():
    named = {verb for verb in ActivityVerb if names_an_issue(Activity(verb=verb))}
    assert named == {ActivityVerb.LINKED_ISSUE, ActivityVerb.UNLINKED_ISSUE}
