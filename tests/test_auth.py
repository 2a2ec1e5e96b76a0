import pytest
from django.core.cache import cache
from django.test import RequestFactory

from tests import factories
from tracking.auth import ThrottledAuthenticationForm

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def attempt(username: str, password: str, address: str = "198.51.100.1"):
    request = RequestFactory().post("/login/", REMOTE_ADDR=address)
    form = ThrottledAuthenticationForm(request, data={"username": username, "password": password})
    return form.is_valid(), form


def test_account_is_throttled_after_repeated_failures(settings):
    settings.LOGIN_THROTTLE_PER_ACCOUNT = 3
    factories.EngineerFactory(username="victim")
    for _ in range(3):
        ok, form = attempt("victim", "wrong")
        assert not ok
        assert "Please enter a correct username and password" in str(form.errors)
    # Even the right password is refused while the account is throttled, with a clear message.
    ok, form = attempt("victim", "pass-word-123", address="198.51.100.99")
    assert not ok
    assert "Too many failed sign-in attempts" in str(form.errors)


def test_address_is_throttled_across_accounts(settings):
    settings.LOGIN_THROTTLE_PER_ADDRESS = 4
    factories.EngineerFactory(username="someone")
    for n in range(4):
        attempt(f"guess{n}", "wrong", address="203.0.113.50")
    ok, form = attempt("someone", "pass-word-123", address="203.0.113.50")
    assert not ok and "Too many failed" in str(form.errors)
    ok, _ = attempt("someone", "pass-word-123", address="203.0.113.51")
    assert ok


def test_success_resets_the_account_counter(settings):
    settings.LOGIN_THROTTLE_PER_ACCOUNT = 3
    factories.EngineerFactory(username="forgetful")
    attempt("forgetful", "wrong")
    attempt("forgetful", "wrong")
    assert attempt("forgetful", "pass-word-123")[0]
    attempt("forgetful", "wrong")
    attempt("forgetful", "wrong")
    assert attempt("forgetful", "pass-word-123")[0]
