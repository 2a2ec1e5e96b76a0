"""The alert rule form of the rule pages. Its messages come from the model's own
definitions (the constraints' messages, the choices); tracking.alerts.rule_changes
checks the same again when saving."""

from datetime import timedelta

from django import forms

from tracking.models import AlertChannel, AlertRule, AlertTrigger, Project

# What a rule's page edits (the admin edits the same, and the project).
RULE_FIELDS = [
    "name",
    "trigger",
    "threshold_events",
    "threshold_minutes",
    "min_level",
    "environments",
    "release_pattern",
    "tag_key",
    "tag_value",
    "channels",
    "action_interval",
    "is_enabled",
]

# Minutes; an interval set elsewhere (admin) is offered too.
INTERVAL_CHOICES = [
    (0, "Every time (no interval)"),
    (5, "5 minutes"),
    (15, "15 minutes"),
    (30, "30 minutes"),
    (60, "1 hour"),
    (180, "3 hours"),
    (720, "12 hours"),
    (1440, "1 day"),
    (10080, "1 week"),
]


def _minutes(interval: timedelta) -> int:
    return int(interval.total_seconds() // 60)


class AlertRuleForm(forms.ModelForm):
    environments = forms.CharField(
        required=False,
        max_length=2000,
        help_text="Comma-separated, e.g. production, staging. Empty: any environment.",
    )
    action_interval = forms.TypedChoiceField(
        coerce=int,
        label="At most one alert per error every",
        help_text="A flood of events of one error sends one message per interval.",
    )
    channels = forms.ModelMultipleChoiceField(
        queryset=AlertChannel.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Then notify",
    )

    class Meta:
        model = AlertRule
        fields = RULE_FIELDS
        labels = {
            "trigger": "Trigger",
            "threshold_events": "More than N events",
            "threshold_minutes": "Within M minutes",
            "min_level": "Level at least",
            "release_pattern": "Release matches",
            "tag_key": "Tag key",
            "tag_value": "Tag value",
            "is_enabled": "Enabled",
        }
        help_texts = {
            "release_pattern": "A glob: 2.* or *-beta. Empty: any release.",
            "min_level": "Empty: any level.",
        }

    def __init__(self, *args: object, project: Project, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.instance.project = project
        if self.instance.pk is None:
            self.initial.setdefault("trigger", AlertTrigger.NEW_ERROR)
        # Channels of this project only: another's id is "not one of the available choices".
        self.fields["channels"].queryset = AlertChannel.objects.filter(project=project)
        current = _minutes(self.instance.action_interval)
        choices = list(INTERVAL_CHOICES)
        if current not in dict(choices):
            choices.append((current, f"{current} minutes"))
        self.fields["action_interval"].choices = choices
        self.fields["action_interval"].initial = current
        self.fields["min_level"].choices = [
            ("", "Any level"),
            *self.fields["min_level"].choices[1:],
        ]
        if self.instance.pk is not None:
            self.initial["environments"] = ", ".join(self.instance.environments or [])
            self.initial["action_interval"] = current

    def clean_environments(self) -> list[str]:
        names = [name.strip() for name in self.cleaned_data["environments"].split(",")]
        return list(dict.fromkeys(name for name in names if name))

    def clean_action_interval(self) -> timedelta:
        return timedelta(minutes=self.cleaned_data["action_interval"])
