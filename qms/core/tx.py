"""The unit-of-work boundary: services flush, the boundary commits once or rolls back."""

from __future__ import annotations

from contextlib import contextmanager
from functools import wraps

from qms.extensions import db


@contextmanager
def unit_of_work():
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def transactional(view):
    """Commit what the view's service calls wrote, once, after the view returns."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        with unit_of_work():
            return view(*args, **kwargs)

    return wrapper
