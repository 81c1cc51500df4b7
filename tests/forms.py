"""Form data as the admin posts it."""


def inline(prefix: str, rows: list[dict], initial: int = 0) -> dict:
    """An inline formset's management form and rows, as the admin's change form posts them."""
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for n, row in enumerate(rows):
        data.update({f"{prefix}-{n}-{key}": value for key, value in row.items()})
    return data
