"""Admin forms: they add the many-to-many and inline rules that `Model.full_clean()` cannot see.

The rules themselves live on the models (`JiraEntity.validate_related`,
`validate_association_count`); these forms only feed them the submitted values and attach the
errors to the right field.
"""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from incidents.models import Incident, PostIncidentReview, validate_association_count


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
            "description",
        ]
        field_classes = {"description": MarkdownField}


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
        ]
        field_classes = {"description": MarkdownField}


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
