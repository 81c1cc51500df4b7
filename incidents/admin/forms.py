"""Admin forms: they add the many-to-many and inline rules that `Model.full_clean()` cannot see.

The rules themselves live on the models (`Incident.validate_affected_containers`,
`PostIncidentReview.validate_incidents`, `validate_association_count`); these forms only feed
them the submitted values and attach the errors to the right field.
"""

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


class IncidentAdminForm(forms.ModelForm):
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

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "affected_containers" in self.fields:
            # An empty selection gets the model's message, which states Jira's 1..100 range.
            self.fields["affected_containers"].required = False

    def clean(self) -> dict:
        cleaned = super().clean()
        assert cleaned is not None  # ModelForm.clean() returns cleaned_data
        containers = cleaned.get("affected_containers")
        if containers is not None:
            try:
                Incident.validate_affected_containers(_workspace(self), containers)
            except ValidationError as exc:
                self.add_error(None, exc)
        return cleaned


class ReviewAdminForm(forms.ModelForm):
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

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "incidents" in self.fields:
            self.fields["incidents"].required = False

    def clean(self) -> dict:
        cleaned = super().clean()
        assert cleaned is not None  # ModelForm.clean() returns cleaned_data
        incidents = cleaned.get("incidents")
        if incidents is not None:
            try:
                PostIncidentReview.validate_incidents(_workspace(self), incidents)
            except ValidationError as exc:
                self.add_error(None, exc)
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
