"""Script-based language guess: Arabic or English (Latin) text."""

from __future__ import annotations

import unicodedata


def is_arabic_letter(ch: str) -> bool:
    o = ord(ch)
    return 0x0600 <= o <= 0x06FF or 0x0750 <= o <= 0x077F or 0x08A0 <= o <= 0x08FF or 0xFB50 <= o <= 0xFEFF


def detect_language(text: str) -> str | None:
    """'ar' when Arabic letters dominate, 'en' when Latin letters do, None without letters."""
    arabic = latin = 0
    for ch in text:
        if not ch.isalpha():
            continue
        if is_arabic_letter(ch):
            arabic += 1
        elif ch.isascii() or "LATIN" in unicodedata.name(ch, ""):
            latin += 1
    if arabic == latin == 0:
        return None
    return "ar" if arabic >= latin else "en"

