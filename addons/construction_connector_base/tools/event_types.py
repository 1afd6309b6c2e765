"""The event-type registry entry: what a domain addon declares for each inbound event.

Domain addons add entries by overriding ``construction.event._event_types()``::

    types["change_order.upsert"] = EventType(
        schema="construction_change_order/schemas/change_order_upsert.v1.json",
        handler="_handle_change_order_upsert",
        entity_key="external_id",
        version_key="version",
        model="construction.change.order",
    )
"""

import json
from dataclasses import dataclass

from odoo.tools.misc import file_open

_SCHEMA_CACHE = {}


@dataclass(frozen=True)
class EventType:
    """One inbound event type.

    :param schema: path of its JSON Schema (draft 2020-12), ``<addon>/schemas/<file>``
    :param handler: name of the ``construction.event`` method that applies the event;
        it runs inside a savepoint, reads ``self._payload()`` and returns the records
        it created or updated
    :param entity_key: payload field holding the entity's external id (optional)
    :param version_key: payload field holding the entity's version (optional)
    :param model: Odoo model the entity is bound to; with entity_key and version_key
        the framework marks older versions ``superseded`` and skips payloads already
        applied (same hash) before calling the handler
    :param project_key: payload field holding an external project reference, mapped
        through the backend's project mappings to fill the event's project (optional)
    :param summary: one line for the OpenAPI document
    :param financial: a financial document (change order, supplier invoice,
        progress claim): a backend may stage it for an accounting approver
    """

    schema: str
    handler: str
    entity_key: str | None = None
    version_key: str | None = None
    model: str | None = None
    project_key: str | None = None
    summary: str = ""
    financial: bool = False

    def load_schema(self):
        """The parsed JSON Schema (cached per path)."""
        if self.schema not in _SCHEMA_CACHE:
            with file_open(self.schema, "rb") as schema_file:
                _SCHEMA_CACHE[self.schema] = json.loads(schema_file.read())
        return _SCHEMA_CACHE[self.schema]
