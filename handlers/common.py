"""Small helpers shared by handler modules."""
from __future__ import annotations


def zh(locale: str) -> bool:
    return locale == "zh_CN"
