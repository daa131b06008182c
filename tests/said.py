"""What a DomainError says: crm_core raises codes with data, cards/errors.py renders the sentence."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from cards.errors import error_text


@contextmanager
def raises_said(kind: type[BaseException], pattern: str, locale: str = "en") -> Iterator[Any]:
    """pytest.raises(kind, match=pattern), matched against the sentence a person reads in `locale`."""
    with pytest.raises(kind) as info:
        yield info
    text = error_text(info.value, locale)  # type: ignore[arg-type]
    assert re.search(pattern, text), f"{pattern!r} not in {text!r}"
