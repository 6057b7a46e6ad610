"""The console's labels: every one in both languages, every one a template asks for exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from dlrhub.console import i18n
from dlrhub.console.pages.receipts import CHOICE_FILTERS, TEXT_FILTERS, TIME_FILTERS
from dlrhub.core.vocabulary import EventType, ReasonClass, ReceiptStatus
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.overview import RANGES

TEMPLATES = Path(i18n.__file__).parent / "templates"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_label_is_in_every_language_with_the_same_placeholders() -> None:
    for key, texts in i18n.CATALOGUE.items():
        assert set(texts) == set(i18n.LANGUAGES), key
        assert all(texts.values()), key
        assert _fields(texts["en"]) == _fields(texts["zh"]), key


def test_every_label_a_template_or_page_names_exists() -> None:
    sources = [*TEMPLATES.glob("*.html"), *(TEMPLATES.parent / "pages").glob("*.py"),
               TEMPLATES.parent / "web.py"]
    named = set()
    for source in sources:
        named |= set(re.findall(r'\bt\(\s*"([a-z_]+(?:\.[a-z_]+)*)"\s*[,)]',
                                source.read_text()))
        named |= set(re.findall(r'"((?:error|login)\.[a-z_]+)"\s*[,)]', source.read_text()))
    named = {n for n in named if not n.endswith(".html")}
    # The labels templates build from a prefix and a value.
    named |= {f"field.{name}" for name in (*TEXT_FILTERS, *CHOICE_FILTERS)}
    named |= {f"receipts.{name}" for name in TIME_FILTERS}
    named |= {f"health.{state}" for state in ("disabled", "circuit_open", "failing", "healthy")}
    named |= {f"overview.{name}" for name in RANGES}
    assert len(named) > 40
    assert named <= set(i18n.CATALOGUE), named - set(i18n.CATALOGUE)


def test_every_status_reason_class_and_event_type_reads_in_chinese() -> None:
    for word in [*ReceiptStatus, *ReasonClass, *EventType]:
        assert i18n.value("zh", word.value) != word.value, word


@pytest.mark.parametrize(("cookie", "header", "lang"), [
    (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"),
    (None, "en-US,en;q=0.9,zh-CN;q=0.8", "en"),
    (None, "fr-FR,zh-TW;q=0.7,en;q=0.5", "zh"),
    (None, "en;q=0.2,zh-Hans;q=0.9", "zh"),
    (None, None, "en"),
    (None, "de, fr", "en"),
    ("en", "zh-CN", "en"),
    ("zh", "en", "zh"),
    ("xx", "zh", "zh"),
])
def test_the_language_is_the_chosen_one_else_the_browsers(
        cookie: str | None, header: str | None, lang: str) -> None:
    assert i18n.choose(cookie, header) == lang


def test_every_providers_setup_hint_has_a_title_and_help_in_both_languages() -> None:
    for name, adapter in PROVIDERS.items():
        for hint in adapter.setup("https://hub.example/v1/callbacks/x/token"):
            for key in (f"setup.{hint}", f"setup.{hint}.help"):
                assert key in i18n.CATALOGUE, (name, key)
                assert set(i18n.CATALOGUE[key]) == {"en", "zh"}, (name, key)
