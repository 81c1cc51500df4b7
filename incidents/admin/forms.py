"""Admin forms: they add the many-to-many and inline rules that `Model.full_clean()` cannot see.

The rules themselves live on the models (`JiraEntity.validate_related`,
`validate_association_count`); these forms only feed them the submitted values and attach the
errors to the right field.
"""

from typing import Any, cast

from django import forms
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from incidents.models import (
    Container,
    Incident,
    PostIncidentReview,
    Workspace,
    validate_association_count,
)
from incidents.models.entity import validate_same_workspace
from incidents.validators import SUMMARY_MAX_LENGTH

#: What the declare form preselects: serious enough to act on, easy to lower.
DECLARE_SEVERITY = Incident.Severity.P3


def staff_users():
    """Who can command, respond to an incident or own an action item: active staff."""
    return (
        get_user_model()
        ._default_manager.filter(is_active=True, is_staff=True)
        .order_by(get_user_model().USERNAME_FIELD)
    )


class MarkdownField(forms.CharField):
    """Browsers send textarea line breaks as CRLF; Jira counts characters, so send LF only."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n") if value else value


def _workspace(form: forms.ModelForm):
    """The submitted workspace, or the saved one when the field is read-only."""
    workspace = form.cleaned_data.get("workspace")
    if workspace is None and form.instance.workspace_id:
        workspace = form.instance.workspace
    return workspace


class JiraEntityAdminForm(forms.ModelForm):
    """An incident's or review's form: the model's `validate_related()` rule for its
    many-to-many set (containers, reviewed incidents), fed the submitted values."""

    _meta: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        related = self._meta.model.RELATED_FIELD
        if related in self.fields:
            # An empty selection gets the model's message, which states Jira's 1..100 range.
            self.fields[related].required = False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # ModelForm.clean() returns cleaned_data
        related = cleaned.get(self._meta.model.RELATED_FIELD)
        if related is not None:
            try:
                self._meta.model.validate_related(_workspace(self), related)
            except ValidationError as exc:
                self.add_error(None, exc)
        return cleaned


class IncidentAdminForm(JiraEntityAdminForm):
    class Meta:
        model = Incident
        fields = [
            "external_id",
            "workspace",
            "summary",
            "severity",
            "status",
            "url",
            "created_date",
            "affected_containers",
            "commander",
            "responders",
            "description",
        ]
        field_classes = {"description": MarkdownField}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("commander", "responders"):
            if name in self.fields:
                cast(forms.ModelChoiceField, self.fields[name]).queryset = staff_users()


class ReviewAdminForm(JiraEntityAdminForm):
    class Meta:
        model = PostIncidentReview
        fields = [
            "external_id",
            "workspace",
            "summary",
            "status",
            "url",
            "created_date",
            "incidents",
            "description",
            "status_follows_actions",
        ]
        field_classes = {"description": MarkdownField}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # ModelForm.clean() returns cleaned_data
        # A status chosen by hand stays, unless staff also ask for it to follow the actions.
        if "status" in self.changed_data and "status_follows_actions" not in self.changed_data:
            cleaned["status_follows_actions"] = False
        return cleaned


class AssociationFormSet(BaseInlineFormSet):
    """Associations inline: the count cap, and duplicates after normalisation (ops-1 = OPS-1)."""

    def clean(self) -> None:
        super().clean()
        kept = [
            form
            for form in self.forms
            if getattr(form, "cleaned_data", None)  # empty extra forms have {}
            # Django's own test for a ticked DELETE; private, so django-stubs leave it out.
            and not (self.can_delete and self._should_delete_form(form))  # type: ignore[attr-defined]
        ]
        try:
            validate_association_count(len(kept))
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["associations"]) from exc
        seen: set[tuple[str, str]] = set()
        for form in kept:
            key = (form.instance.association_type, form.instance.value)
            if key in seen:
                form.add_error("value", f"{form.instance.value} is listed twice.")
            seen.add(key)


class DeclareIncidentForm(forms.Form):
    """Declare an incident: only the summary is needed; the id, raise time, URL and commander
    come from `incidents.workflow.declare_incident`."""

    summary = forms.CharField(
        max_length=SUMMARY_MAX_LENGTH,
        widget=forms.TextInput(
            attrs={"autofocus": True, "placeholder": "What is broken, for whom", "size": 60}
        ),
    )
    severity = forms.ChoiceField(choices=Incident.Severity.choices, initial=DECLARE_SEVERITY)
    workspace = forms.ModelChoiceField(queryset=Workspace.objects.order_by("name", "pk"))
    containers = forms.ModelMultipleChoiceField(
        label="Affected containers",
        queryset=Container.objects.select_related("workspace"),
        required=False,
        help_text="Optional now; Jira shows the incident once it has at least one.",
    )

    def __init__(self, *args, admin_site=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if admin_site is not None:
            field = cast(forms.ModelMultipleChoiceField, self.fields["containers"])
            field.widget = AutocompleteSelectMultiple(
                Incident._meta.get_field("affected_containers"), admin_site
            )
            field.widget.choices = field.choices

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        assert cleaned is not None  # ModelForm.clean() returns cleaned_data
        workspace, containers = cleaned.get("workspace"), cleaned.get("containers")
        if workspace is not None and containers:
            try:
                validate_same_workspace(workspace, containers, "containers", "containers")
            except ValidationError as exc:
                self.add_error(None, exc.message_dict["containers"])
        return cleaned


class ActionItemForm(forms.ModelForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "owner" in self.fields:
            cast(forms.ModelChoiceField, self.fields["owner"]).queryset = staff_users()
