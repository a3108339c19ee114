"""The relational warehouse: schema, the one upsert path, cursors and typed views."""

from gofap_assets.warehouse.records import (
    Batch,
    CursorUpdate,
    FieldNote,
    Quarantined,
    Record,
    WriteCounts,
)
from gofap_assets.warehouse.store import PartitionState, Warehouse, WarehouseError

__all__ = ["Batch", "CursorUpdate", "FieldNote", "PartitionState", "Quarantined", "Record",
           "Warehouse", "WarehouseError", "WriteCounts"]
