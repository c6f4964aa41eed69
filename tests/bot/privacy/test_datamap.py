"""The data map covers every table and every column that could hold personal data."""

from __future__ import annotations

from sqlalchemy import JSON, String, Text

from bot.privacy.datamap import BY_TABLE, DATA_MAP
from bot.privacy.erasure import ORDER
from bot.privacy.settings import RetentionSettings
from bot.storage.models import Base
from tests.conftest import REPO


def test_every_text_json_or_identity_column_has_an_entry() -> None:
    missing = []
    for table in Base.metadata.sorted_tables:
        entry = BY_TABLE.get(table.name)
        assert entry is not None, f"table {table.name} is not in bot/privacy/datamap.py"
        for column in table.columns:
            textual = isinstance(column.type, String | Text | JSON)
            if textual and column.name not in {*entry.personal, *entry.other}:
                missing.append(f"{table.name}.{column.name}")
    assert missing == [], "classify these columns in bot/privacy/datamap.py"


def test_the_map_names_only_columns_that_exist_and_each_once() -> None:
    for entry in DATA_MAP:
        columns = set(entry.model.__table__.columns.keys())
        named = [*entry.personal, *entry.other, *entry.anonymise]
        assert set(named) <= columns, entry.table
        assert not set(entry.personal) & entry.other, entry.table
        assert set(entry.anonymise) <= {*entry.personal, *entry.other}, entry.table
    assert len(BY_TABLE) == len(DATA_MAP) == len(Base.metadata.tables)


def test_personal_data_is_erased_found_and_expires() -> None:
    retention = set(RetentionSettings.model_fields)
    erased = {e.table for e in ORDER}
    for entry in DATA_MAP:
        if entry.personal:
            assert entry.owner is not None, f"{entry.table}: whose data is it?"
            assert entry.table in erased, f"{entry.table}: erasure must touch it"
            assert entry.retention in retention, f"{entry.table}: how long is it kept?"
            if entry.erase == "anonymise":
                assert set(entry.personal) <= set(entry.anonymise), entry.table


def test_the_data_protection_officer_doc_names_every_table() -> None:
    doc = (REPO / "docs" / "privacy.md").read_text(encoding="utf-8")
    for entry in DATA_MAP:
        assert f"`{entry.table}`" in doc, entry.table
    for name in RetentionSettings.model_fields:
        assert name in doc, name
