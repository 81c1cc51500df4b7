"""What keeps every changelist fast at 100,000 rows and more (docs/admin.md#speed).

- The tie-breaking primary key sorts in the direction of the column clicked, so a sort on a
  column with few distinct values (status, severity, Jira sync, kind) walks one `(column, id)`
  index both ways and stops after a page, instead of sorting every row of the first value.
- No second, unfiltered count next to the filtered one (`show_full_result_count = False`).
- Counts of related rows as subqueries evaluated for the page only (`count_of`).
- Text boxes instead of one link per workspace or container in the sidebar
  (`TextInputFilter`): a list of links does not scale to thousands.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Count, F, IntegerField, OrderBy, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from incidents.models import Workspace


class IndexedChangeList(ChangeList):
    """A changelist whose primary-key tie-breaker follows the first sort column's direction,
    and which sorts only on the columns the admin offers (`sortable_by`), also when the URL
    asks for another."""

    def get_ordering_field(self, field_name):
        if self.sortable_by is not None and field_name not in self.sortable_by:
            return None
        return super().get_ordering_field(field_name)

    def _get_deterministic_ordering(self, ordering):
        """Django's total ordering, with each field once and the primary key (wherever it ends
        up, e.g. after the admin's default ordering) sorting like the first column."""
        ordering = super()._get_deterministic_ordering(ordering)  # type: ignore[misc]  # private in Django, missing from django-stubs
        if not ordering:
            return ordering
        pk_names = {"pk", self.lookup_opts.pk.name, self.lookup_opts.pk.attname}
        result, seen = [], set()
        for part in ordering:
            name = _field_name(part)
            if name in pk_names:
                result.append("pk" if _ascending(ordering[0]) else "-pk")
                break
            if name is not None and name in seen:
                continue
            seen.add(name)
            result.append(part)
        return result


def _field_name(part) -> str | None:
    if isinstance(part, str):
        return part.lstrip("-")
    if isinstance(part, F):
        return str(part.name)  # type: ignore[attr-defined]  # F's `name` is set in __init__
    if isinstance(part, OrderBy) and isinstance(part.expression, F):
        return str(part.expression.name)  # type: ignore[attr-defined]
    return None


def _ascending(part) -> bool:
    if isinstance(part, str):
        return not part.startswith("-")
    return not getattr(part, "descending", False)


class TextInputFilter(admin.SimpleListFilter):
    """A list filter that is a text box (`templates/admin/incidents/input_filter.html`)."""

    template = "admin/incidents/input_filter.html"
    placeholder = ""

    def lookups(self, request, model_admin):
        return [("", "")]  # a non-empty list makes the admin show the filter

    def choices(self, changelist):
        yield {
            "value": self.value() or "",
            "placeholder": self.placeholder,
            "hidden": [
                (name, value)
                for name, values in changelist.filter_params.items()
                if name != self.parameter_name
                for value in values
            ],
            "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
        }


class WorkspaceFilter(TextInputFilter):
    """Rows of the workspaces whose id is the text, or whose name contains it."""

    title = "workspace"
    parameter_name = "workspace"
    placeholder = "Workspace id or name"

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value:
            return queryset
        workspaces = Workspace.objects.filter(Q(external_id=value) | Q(name__icontains=value))
        return queryset.filter(workspace__in=workspaces.values("pk"))


def count_of(related, field: str) -> Coalesce:
    """How many `related` rows point at the row (`field` names the pointing column), as a
    subquery: evaluated for the page's rows only, where a `Count` annotation would join and
    group every row of both tables before the page is cut."""
    counts = (
        related.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(total=Count("*"))
        .values("total")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


class LargeListAdmin(admin.ModelAdmin):
    """The base of every admin whose list may hold 100,000 rows."""

    show_full_result_count = False

    def get_changelist(self, request, **kwargs):
        return IndexedChangeList
