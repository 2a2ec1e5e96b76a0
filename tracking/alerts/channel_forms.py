"""The channel pages' forms. Their checks are `targets`' rules (the services apply the
same ones); a form only turns them into a message on the right field early."""

from __future__ import annotations

from typing import Any

from django import forms

from tracking.alerts import targets
from tracking.models import AlertChannel, ChannelKind, Project, Team, User


class ChannelForm(forms.Form):
    name = forms.CharField(max_length=AlertChannel._meta.get_field("name").max_length)
    kind = forms.ChoiceField(choices=ChannelKind.choices, initial=ChannelKind.WEBHOOK)
    url = forms.CharField(
        label="URL",
        required=False,
        max_length=targets.URL_MAX,
        help_text="The incoming-webhook URL the service gave you (not used by email).",
        widget=forms.URLInput(attrs={"placeholder": "https://", "inputmode": "url"}),
    )
    email_users = forms.ModelMultipleChoiceField(
        label="Email these people",
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    email_teams = forms.ModelMultipleChoiceField(
        label="and every member of these teams",
        queryset=Team.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only people who can see the project are emailed.",
    )

    def __init__(
        self, *args: Any, project: Project, channel: AlertChannel | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        if channel is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": channel.name,
                "kind": channel.kind,
                "url": channel.url,
                "email_users": list(channel.email_users.all()),
                "email_teams": list(channel.email_teams.all()),
            }
        super().__init__(*args, **kwargs)
        self.channel = channel
        self.project = project
        people, teams = targets.recipient_choices(project)
        self.fields["email_users"].queryset = people
        self.fields["email_teams"].queryset = teams
        self.fields["email_users"].label_from_instance = lambda user: user.choice_label
        if channel is not None:
            # A channel keeps its kind: its rules and its secret were made for it.
            del self.fields["kind"]

    @property
    def channel_kind(self) -> str:
        if self.channel is not None:
            return self.channel.kind
        return self.cleaned_data.get("kind", "")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = self.channel_kind
        if kind == ChannelKind.EMAIL:
            problem = targets.recipients_problem(
                self.project,
                list(cleaned.get("email_users") or ()),
                list(cleaned.get("email_teams") or ()),
            )
            if problem:
                self.add_error("email_users", problem)
        elif kind:
            problem = targets.url_problem(kind, (cleaned.get("url") or "").strip())
            if problem:
                self.add_error("url", problem)
        return cleaned


class ConfirmForm(forms.Form):
    """A checkbox to tick before something that cannot be undone (delete, rotate)."""

    confirm = forms.BooleanField(label="Yes, I am sure", required=True)
