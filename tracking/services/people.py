"""People and settings: adding a colleague with a role, inviting them, roles, projects.

Admins (active staff) do all of it; the rules are here, the pages in tracking.people.
An invitation is Django's password-reset machinery: a one-time token
(`default_token_generator`) in a link to the set-password page, valid for
PASSWORD_RESET_TIMEOUT, that stops working once the password is set.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from functools import partial

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tracking.ingest.auth import PROJECT_CACHE_SECONDS
from tracking.models import Project, User, new_public_key
from tracking.workflow import permissions
from tracking.workflow.exceptions import Forbidden, Refused

logger = logging.getLogger(__name__)

ADMINS_ONLY = "Only admins manage people and projects."

# Every ingestion process keeps a project's key, active flag and rate limit for
# PROJECT_CACHE_SECONDS, and a save forgets only the saving process's copy: a change
# reaches ingestion within that time, not at once. The pages say so with this.
TAKES_EFFECT = f"within {PROJECT_CACHE_SECONDS:g} seconds"


class Role(StrEnum):
    ENGINEER = "engineer"
    LEAD = "lead"
    ADMIN = "admin"
    NONE = "none"


ROLE_LABELS = {
    Role.ENGINEER: "Engineer: triages, takes, escalates and resolves errors",
    Role.LEAD: "Lead: also assigns anyone and takes over work",
    Role.ADMIN: "Admin: a lead's powers, plus people, projects and resolution types",
    Role.NONE: "No role: can sign in, may do nothing",
}


def _check_admin(by: User) -> None:
    if not permissions.is_admin(by):
        raise Forbidden(ADMINS_ONLY)


def _apply_role(user: User, role: Role) -> None:
    groups = {name: Group.objects.get_or_create(name=name)[0] for name in permissions.ROLE_GROUPS}
    user.groups.remove(*groups.values())
    if role is Role.ENGINEER:
        user.groups.add(groups[permissions.ENGINEERS])
    elif role is Role.LEAD:
        user.groups.add(groups[permissions.LEADS])
    # Admins also manage resolution types and projects in Django admin.
    user.is_staff = user.is_superuser = role is Role.ADMIN
    user.save(update_fields=["is_staff", "is_superuser"])
    permissions.forget_roles(user)


def role_of(user: User) -> Role:
    """The strongest role."""
    if permissions.is_admin(user):
        return Role.ADMIN
    if permissions.is_lead(user):
        return Role.LEAD
    if permissions.is_engineer(user):
        return Role.ENGINEER
    return Role.NONE


def invite_url(user: User) -> str:
    """The one-time set-password link for `user` (absolute, from SITE_URL)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.SITE_URL + reverse("invite_accept", args=[uid, token])


def _send_invite(user: User, url: str, by: User) -> None:
    body = "\n".join(
        [
            f"{by} added you to the error tracker as {role_of(user).value}.",
            "",
            "Choose your password here (the link works once):",
            url,
            "",
            f"Your username: {user.username}",
            "",
        ]
    )
    try:
        send_mail("[Error tracker] You are invited", body, None, [user.email])
    except Exception:  # the person exists; the admin can copy the link from the page
        logger.exception("could not send the invitation to %s", user.email)


@transaction.atomic
def add_person(
    *,
    username: str,
    email: str,
    role: Role | str,
    by: User,
    first_name: str = "",
    last_name: str = "",
    invite: bool = True,
) -> tuple[User, str]:
    """Create an active user with `role` and no usable password yet; returns the user
    and their invitation link, emailed after commit when `invite`."""
    _check_admin(by)
    role = Role(role)
    username = username.strip()
    if not username:
        raise Refused("A username is required.", field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise Refused(f"“{username}” is taken.", field="username")
    email = email.strip()
    if invite and not email:
        raise Refused("An invitation needs an email address.", field="email")
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    user.set_unusable_password()
    user.save()
    _apply_role(user, role)
    url = invite_url(user)
    if invite:
        transaction.on_commit(partial(_send_invite, user, url, by))
    return user, url


@transaction.atomic
def set_role(*, user: User, role: Role | str, by: User, is_active: bool = True) -> User:
    _check_admin(by)
    role = Role(role)
    if user.pk == by.pk and (role is not Role.ADMIN or not is_active):
        raise Refused("You cannot take away your own admin role; ask another admin.")
    user = User.objects.select_for_update().get(pk=user.pk)
    _apply_role(user, role)
    if user.is_active != is_active:
        user.is_active = is_active
        user.save(update_fields=["is_active"])
    return user


@transaction.atomic
def update_project(
    *, project: Project, by: User, name: str, rate_limit_per_minute: int, is_active: bool
) -> Project:
    _check_admin(by)
    name = name.strip()
    if not name:
        raise Refused("A name is required.", field="name")
    if rate_limit_per_minute < 0:
        raise Refused("0 means unlimited; a limit is a positive number.", field="rate_limit")
    project.name = name
    project.rate_limit_per_minute = rate_limit_per_minute
    project.is_active = is_active
    project.save(update_fields=["name", "rate_limit_per_minute", "is_active"])
    return project


@transaction.atomic
def rotate_project_key(*, project: Project, by: User) -> Project:
    """A new DSN key: the old DSN stops working within PROJECT_CACHE_SECONDS (TAKES_EFFECT),
    the time every ingestion process may keep the old key cached."""
    _check_admin(by)
    project.public_key = new_public_key()
    project.save(update_fields=["public_key"])
    return project
