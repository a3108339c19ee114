"""The warehouse as a Dagster resource."""

import dagster as dg
from pydantic import PrivateAttr

from gofap_assets.config import DEFAULT_DATABASE_URL
from gofap_assets.warehouse.store import Warehouse


class WarehouseResource(dg.ConfigurableResource):
    """The SQL warehouse every asset writes to (SQLite by default, PostgreSQL at scale)."""

    database_url: str = DEFAULT_DATABASE_URL

    _warehouse: Warehouse | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._warehouse = Warehouse(self.database_url)
        if not self._warehouse.schema_ready():
            self._warehouse.create_schema()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._warehouse is not None:
            self._warehouse.dispose()
            self._warehouse = None

    @property
    def warehouse(self) -> Warehouse:
        if self._warehouse is None:
            self._warehouse = Warehouse(self.database_url)
        return self._warehouse
