"""The English catalogue: complete, in step with the code, and used by the app.

Dutch is the source language (the msgids), so only English has a catalogue. The
catalogue tests read the ``.po``/``.pot`` files directly; the request tests need the
compiled ``.mo``, which ``make install`` (and so ``make test``) builds.
"""

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "ruilkring" / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
ENGLISH_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
ENGLISH_MO = ENGLISH_PO.with_suffix(".mo")

# Python %-placeholders: %(name)s, %(n)d, %s, %d ... ("%%" is a literal percent sign).
PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=locale)


def message_ids(catalog: Catalog) -> set:
    """(msgid, context) of every real message; a plural msgid is a (singular, plural) tuple."""
    return {(message.id, message.context) for message in catalog if message.id}


def placeholders(text: str) -> list[str]:
    return sorted(p for p in PLACEHOLDER.findall(text) if p != "%%")


def extract_from_code() -> Catalog:
    """What ``make translations-update`` would extract now, with the same babel.cfg and keywords."""
    with (ROOT / "babel.cfg").open() as file:
        method_map, options_map = parse_mapping_cfg(file)
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def short(ids) -> str:
    return "\n".join(f"  {msgid!r}" for msgid, _context in sorted(ids, key=repr))


def test_catalogue_is_up_to_date_with_the_code():
    extracted = message_ids(extract_from_code())
    committed = message_ids(read_catalog(TEMPLATE))
    assert extracted, "no texts extracted: is babel.cfg right?"
    new, gone = extracted - committed, committed - extracted
    assert not (new or gone), (
        "The translation catalogue is out of date: run `make translations-update` and translate "
        f"the new texts in {ENGLISH_PO.relative_to(ROOT)}.\n"
        f"Texts in the code but not in messages.pot:\n{short(new) or '  (none)'}\n"
        f"Texts in messages.pot but no longer in the code:\n{short(gone) or '  (none)'}"
    )


def test_english_catalogue_has_the_same_texts_as_the_template():
    template = message_ids(read_catalog(TEMPLATE))
    english = message_ids(read_catalog(ENGLISH_PO, "en"))
    assert english == template, (
        "messages.po and messages.pot differ: run `make translations-update`.\n"
        f"Missing from messages.po:\n{short(template - english) or '  (none)'}\n"
        f"Only in messages.po:\n{short(english - template) or '  (none)'}"
    )


def test_every_english_translation_is_filled_in_and_not_fuzzy():
    catalog = read_catalog(ENGLISH_PO, "en")
    untranslated, fuzzy = [], []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(s and s.strip() for s in strings):
            untranslated.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
    assert not untranslated, f"untranslated in {ENGLISH_PO.name}: {untranslated}"
    assert not fuzzy, f"fuzzy (check and remove the flag) in {ENGLISH_PO.name}: {fuzzy}"
    assert not catalog.fuzzy, "the catalogue header is marked fuzzy"


def test_english_plural_forms_are_complete():
    catalog = read_catalog(ENGLISH_PO, "en")
    assert catalog.num_plurals == 2
    plurals = [m for m in catalog if m.id and m.pluralizable]
    assert plurals, "the code uses ngettext, so the catalogue should have plural messages"
    for message in plurals:
        assert isinstance(message.string, tuple) and len(message.string) == 2, message.id


def test_english_translations_keep_the_placeholders():
    mismatches = []
    for message in read_catalog(ENGLISH_PO, "en"):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = placeholders(ids[-1])  # the plural msgid has every placeholder
        for string in strings:
            if placeholders(string) != expected:
                mismatches.append((ids[0], string))
    assert not mismatches, "placeholders differ between msgid and msgstr:\n" + "\n".join(
        f"  {msgid!r} -> {string!r}" for msgid, string in mismatches
    )


@pytest.fixture
def compiled_catalogue():
    """The request tests need the compiled catalogue, built by `make install`."""
    if not ENGLISH_MO.exists() or ENGLISH_MO.stat().st_mtime < ENGLISH_PO.stat().st_mtime:
        pytest.fail(f"{ENGLISH_MO.relative_to(ROOT)} is missing or older than the .po: "
                    "run `make translations` (make test does it for you).")


def test_home_page_is_dutch_by_default(client, compiled_catalogue):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="nl">' in page
    assert "Welkom bij ruilkring" in page
    assert "Welcome to ruilkring" not in page


def test_choosing_english_renders_the_home_page_in_english(client, compiled_catalogue):
    response = client.post("/taal/en")
    assert response.status_code == 302

    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Welcome to ruilkring" in page
    assert "How does it work?" in page
    assert "Welkom bij ruilkring" not in page


def test_lazy_texts_from_python_code_are_translated_too(client, compiled_catalogue):
    client.post("/taal/en")
    response = client.get("/does-not-exist")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_switching_back_to_dutch(client, compiled_catalogue):
    client.post("/taal/en")
    client.post("/taal/nl")
    assert "Welkom bij ruilkring" in client.get("/").get_data(as_text=True)
