"""The common data model: one declaration of every table, column, type and code system."""

from fivesafes.model.codes import CodeSystem
from fivesafes.model.schema import Column, ColumnType, Table, TableKind
from fivesafes.model.tables import TABLES

__all__ = ["TABLES", "CodeSystem", "Column", "ColumnType", "Table", "TableKind"]
