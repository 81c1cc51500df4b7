"""Model fields shared by the incidents domain."""

from django import forms
from django.core.validators import URLValidator
from django.db import models


class WebURLField(models.URLField):
    """An http(s) URL: Jira shows these as links and avatars, so no ftp or other schemes."""

    default_validators = [
        URLValidator(
            schemes=["http", "https"],
            message="Enter a full web address starting with https:// or http://.",
        )
    ]

    def formfield(self, **kwargs):
        return super().formfield(
            **{"form_class": forms.URLField, "assume_scheme": "https", **kwargs}
        )
