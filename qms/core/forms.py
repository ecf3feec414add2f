"""Putting a service's field errors back on the forms that were submitted."""

from __future__ import annotations


def attach_errors(errors: dict, *forms, aliases: dict[str, str] | None = None) -> None:
    """Show each service error next to its field (first form that has it, trying the alias
    name too), or above the first form when no form has such a field."""
    aliases = aliases or {}
    for name, message in errors.items():
        for candidate in (name, aliases.get(name)):
            form = next((f for f in forms if candidate and candidate in f._fields), None)
            if form is not None:
                # errors may be a tuple after validation; a new list is always safe
                form[candidate].errors = list(form[candidate].errors) + [str(message)]
                break
        else:
            forms[0].form_errors.append(str(message))
