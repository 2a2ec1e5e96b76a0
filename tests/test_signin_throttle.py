"""Sign-in throttling (django-axes + tracking.auth) through the real sign-in doors.

Every test signs in by posting the real forms (/login/ and /admin/login/), so the axes
backend, its signals, our handler and the per-username lock all run.
"""

import threading
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.helpers import factories

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"  # the factories' password


def sign_in(client: Client, username: str, password: str, address: str = "198.51.100.1", **meta):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, **meta
    )


def signed_in(response) -> bool:
    return response.status_code == 302 and "/login/" not in response.url


def locked_out(response) -> bool:
    return response.status_code == 429 and b"Too many failed sign-in attempts" in response.content


@pytest.fixture
def victim(db):
    return factories.EngineerFactory(username="victim")


def test_the_pair_is_locked_after_the_limit_with_a_friendly_page(client, victim, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        response = sign_in(client, "victim", "wrong")
        assert response.status_code == 200
        assert b"Please enter a correct username and password" in response.content
    # The failure that reaches the limit already says so.
    assert locked_out(sign_in(client, "victim", "wrong"))
    # Even the right password is refused from that address while locked: the sign-in
    # page again, with the reason and what to do.
    response = sign_in(client, "victim", PASSWORD)
    assert locked_out(response)
    assert b"ask an admin to unlock" in response.content
    assert b'name="password"' in response.content
    # The account itself is not locked: its owner signs in from their own address.
    assert signed_in(sign_in(Client(), "victim", PASSWORD, address="203.0.113.7"))


def test_the_account_alone_locks_only_at_its_much_higher_limit(victim, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.LOGIN_ACCOUNT_FAILURE_LIMIT = 8
    # Four addresses, two failures each: no pair reaches 3, the account reaches 8.
    for n in range(4):
        for _ in range(2):
            sign_in(Client(), "victim", "wrong", address=f"192.0.2.{n + 1}")
    assert locked_out(sign_in(Client(), "victim", PASSWORD, address="203.0.113.7"))
    # Other accounts are untouched.
    factories.EngineerFactory(username="bystander")
    assert signed_in(sign_in(Client(), "bystander", PASSWORD, address="192.0.2.1"))


def test_a_success_clears_the_pairs_failures(client, victim, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        sign_in(client, "victim", "wrong")
    assert signed_in(sign_in(client, "victim", PASSWORD))
    client.post(reverse("logout"))
    for _ in range(2):
        sign_in(client, "victim", "wrong")
    assert signed_in(sign_in(client, "victim", PASSWORD))


def test_the_lock_ends_after_the_cool_off(client, victim, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        sign_in(client, "victim", "wrong")
    assert locked_out(sign_in(client, "victim", PASSWORD))
    # Attempts while locked do not extend the lock; move the counted failures back in time.
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time
        - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES, seconds=1)
    )
    assert signed_in(sign_in(client, "victim", PASSWORD))


def test_the_admin_sign_in_is_throttled_and_shares_the_count(settings):
    settings.AXES_FAILURE_LIMIT = 3
    factories.AdminFactory(username="root")
    admin_login = reverse("admin:login")
    client = Client()
    for _ in range(3):
        client.post(
            admin_login, {"username": "root", "password": "wrong"}, REMOTE_ADDR="198.51.100.9"
        )
    response = client.post(
        admin_login, {"username": "root", "password": PASSWORD}, REMOTE_ADDR="198.51.100.9"
    )
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content
    assert "_auth_user_id" not in client.session
    # Locked on one door, locked on the other.
    assert locked_out(sign_in(Client(), "root", PASSWORD, address="198.51.100.9"))

    factories.AdminFactory(username="root2")
    for _ in range(3):
        sign_in(Client(), "root2", "wrong", address="198.51.100.10")
    response = Client().post(
        admin_login, {"username": "root2", "password": PASSWORD}, REMOTE_ADDR="198.51.100.10"
    )
    assert response.status_code == 429


def test_behind_a_trusted_proxy_each_client_has_its_own_count(victim, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.INGEST_TRUSTED_PROXIES = ["10.0.0.1"]
    proxy = {"address": "10.0.0.1"}
    for _ in range(3):
        sign_in(Client(), "victim", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.66", **proxy)
    assert locked_out(
        sign_in(Client(), "victim", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.66", **proxy)
    )
    # Another client behind the same proxy is not locked out by the first one's failures.
    assert signed_in(
        sign_in(Client(), "victim", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.20", **proxy)
    )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.66"}


def test_a_forwarded_header_from_an_untrusted_peer_is_ignored(victim, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.INGEST_TRUSTED_PROXIES = []
    peer = "192.0.2.50"
    for n in range(3):
        sign_in(Client(), "victim", "wrong", address=peer, HTTP_X_FORWARDED_FOR=f"10.9.9.{n}")
    assert locked_out(
        sign_in(Client(), "victim", PASSWORD, address=peer, HTTP_X_FORWARDED_FOR="10.1.1.1")
    )


def test_ipv6_addresses_are_counted_per_64(victim, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(3):
        sign_in(Client(), "victim", "wrong", address=f"2001:db8:1:2::{n + 1:x}")
    # Any address of the same /64 is the same client.
    assert locked_out(sign_in(Client(), "victim", PASSWORD, address="2001:db8:1:2:ffff::9"))
    # The next /64 is another.
    assert signed_in(sign_in(Client(), "victim", PASSWORD, address="2001:db8:1:3::1"))
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"2001:db8:1:2::"}


def test_axes_reset_unlocks(client, victim, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        sign_in(client, "victim", "wrong")
    assert locked_out(sign_in(client, "victim", PASSWORD))
    call_command("axes_reset_username", "victim")
    assert signed_in(sign_in(client, "victim", PASSWORD))


class CountingHasher(MD5PasswordHasher):
    """MD5 (fast, as in every test) that counts password checks and holds each a moment,
    as a real hasher does, so that parallel sign-ins overlap."""

    algorithm = "counting_md5"
    checks = 0
    lock = threading.Lock()

    def verify(self, password: str, encoded: str) -> bool:
        with CountingHasher.lock:
            CountingHasher.checks += 1
        threading.Event().wait(0.05)
        return super().verify(password, encoded)


@pytest.mark.django_db(transaction=True)
def test_12_parallel_wrong_passwords_get_at_most_the_limit_of_checks(settings):
    if connection.vendor != "postgresql":
        pytest.skip("real threads need a server database (SQLite's test database is in memory)")
    settings.PASSWORD_HASHERS = ["tests.test_signin_throttle.CountingHasher"]
    settings.AXES_FAILURE_LIMIT = 5
    factories.EngineerFactory(username="target")
    CountingHasher.checks = 0
    barrier = threading.Barrier(12, timeout=30)
    statuses: list[int] = []

    def guess(n: int) -> None:
        try:
            client = Client()
            barrier.wait()
            response = sign_in(client, "target", f"guess-{n}", address="198.51.100.77")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 12
    assert CountingHasher.checks <= 5, CountingHasher.checks
    assert statuses.count(429) >= 12 - 4
    total = sum(AccessAttempt.objects.values_list("failures_since_start", flat=True))
    assert total == 5


def test_a_garbled_forwarded_address_falls_back_to_the_peer(victim, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.INGEST_TRUSTED_PROXIES = ["10.0.0.1"]
    response = sign_in(Client(), "victim", "wrong", address="10.0.0.1", HTTP_X_FORWARDED_FOR="nope")
    assert response.status_code == 200
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["10.0.0.1"]


def test_admins_see_the_attempts_and_unlock_in_admin(admin_client, victim, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        sign_in(Client(), "victim", "wrong")
    assert locked_out(sign_in(Client(), "victim", PASSWORD))
    changelist = admin_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert changelist.status_code == 200
    assert b"victim" in changelist.content
    attempt = AccessAttempt.objects.get()
    admin_client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    assert not AccessAttempt.objects.exists()
    assert signed_in(sign_in(Client(), "victim", PASSWORD))


def change_password(client: Client, old: str, address: str = "198.51.100.1"):
    return client.post(
        reverse("my_settings"),
        {
            "form": "password",
            "old_password": old,
            "new_password1": "a-new-pass-word-456",
            "new_password2": "a-new-pass-word-456",
        },
        REMOTE_ADDR=address,
    )


def test_the_password_change_counts_wrong_old_passwords_and_locks_like_sign_in(
    client, victim, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    client.force_login(victim)
    for _ in range(2):
        response = change_password(client, "wrong")
        assert response.status_code == 200
        assert b"Your old password was entered incorrectly" in response.content
    assert locked_out(change_password(client, "wrong"))
    # Locked: even the right old password changes nothing from that address.
    response = change_password(client, PASSWORD)
    assert locked_out(response)
    victim.refresh_from_db()
    assert victim.check_password(PASSWORD)
    # The same count as the sign-in page: the pair is locked there too.
    assert locked_out(sign_in(Client(), "victim", PASSWORD))


def test_the_password_change_with_the_right_old_password_works(client, victim):
    client.force_login(victim)
    response = change_password(client, PASSWORD)
    assert response.status_code == 302
    victim.refresh_from_db()
    assert victim.check_password("a-new-pass-word-456")
