"""Model fields shared by the incidents domain."""

from django import forms
from django.db import models

from incidents.validators import WebURLValidator


class WebURLField(models.URLField):
    """An http(s) URL Jira accepts as a `format: uri` link or avatar."""

    default_validators = [WebURLValidator()]

    def formfield(self, **kwargs):
        return super().formfield(
            **{"form_class": forms.URLField, "assume_scheme": "https", **kwargs}
        )
