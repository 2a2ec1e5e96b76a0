"""tracking/templatetags/tracking_tags.py: the escalation countdown's wording."""

from datetime import UTC, datetime, timedelta

import time_machine

from tracking.templatetags.tracking_tags import ack_countdown

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@time_machine.travel(NOW, tick=False)
def test_the_countdown_says_minutes_then_a_minute_then_that_it_passed():
    assert (
        ack_countdown(NOW + timedelta(minutes=12)) == "acknowledge within 12\xa0minutes"
    )  # timeuntil keeps the two together
    assert ack_countdown(NOW + timedelta(seconds=17)) == "acknowledge within a minute"
    assert ack_countdown(NOW) == "deadline passed: moving to the next step"
    assert ack_countdown(None) == ""
