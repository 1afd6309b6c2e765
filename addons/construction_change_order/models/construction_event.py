import logging
from collections import Counter

from odoo import Command, _, models
from odoo.exceptions import UserError

from odoo.addons.construction_connector_base.tools.event_types import EventType
from odoo.addons.construction_connector_base.tools.exceptions import (
    ParentMissing,
    PermanentEventError,
)

_logger = logging.getLogger(__name__)

CHANGE_ORDER = "construction.change.order"
CHANGE_EVENT = "construction.change.event"


class ConstructionEvent(models.Model):
    _inherit = "construction.event"

    def _event_types(self):
        types = super()._event_types()
        types["change_order.upsert"] = EventType(
            schema="construction_change_order/schemas/change_order_upsert.v1.json",
            handler="_handle_change_order_upsert",
            entity_key="external_id",
            version_key="version",
            model=CHANGE_ORDER,
            project_key="project",
            summary="Create or update a change order with its lines",
            financial=True,
        )
        types["change_order.status"] = EventType(
            schema="construction_change_order/schemas/change_order_status.v1.json",
            handler="_handle_change_order_status",
            entity_key="external_id",
            version_key="version",
            model=CHANGE_ORDER,
            summary="Submit, approve, reject or void a change order",
        )
        types["change_event.upsert"] = EventType(
            schema="construction_change_order/schemas/change_event_upsert.v1.json",
            handler="_handle_change_event_upsert",
            entity_key="external_id",
            version_key="version",
            model=CHANGE_EVENT,
            project_key="project",
            summary="Create or update a change event (potential change) with its lines",
        )
        return types

    # ---- change_order.upsert ----

    def _handle_change_order_upsert(self):
        """Create or update the bound change order; lines are replaced."""
        payload = self._payload()
        backend = self.backend_id
        Order = self.env[CHANGE_ORDER].with_company(backend.company_id)
        order = self._change_order_bound(payload["external_id"])
        vals = self._prepare_change_order_vals(payload, order)
        if order:
            order._api_check_updatable()
            order.write(vals)
        else:
            order = Order.create(vals)
        # Change events priced by this change order are now pending.
        order.change_event_ids.filtered(lambda e: e.state == "open").action_pending()
        if payload.get("status"):
            order._api_set_status(
                self._change_order_status(payload["status"]),
                payload.get("status_reason"),
                backend.name,
            )
        self._bind(order)
        return order

    def _process_batch_at_once(self):
        """The new change orders of a batch in one ``create`` (numbering, lines
        and budget sync batched), bound and marked done like one by one. Only
        plain creations qualify: not bound yet, external id once in the batch, no
        status, package or prime reference. Any error rolls the attempt back
        and leaves every event to its own savepoint."""
        results = super()._process_batch_at_once()
        events = self.filtered(
            lambda e: (
                e.event_type == "change_order.upsert"
                and e.state in ("queued", "processing", "failed", "parked")
                and e.entity_external_id
                and not e.payload_purged
            )
        )
        if len(events) < 2 or len(events.backend_id) != 1:
            return results
        backend = events.backend_id
        seen = Counter(events.mapped("entity_external_id"))
        bound = set(
            self.env["construction.binding"]
            .search(
                [
                    ("backend_id", "=", backend.id),
                    ("model", "=", CHANGE_ORDER),
                    ("external_id", "in", list(seen)),
                ]
            )
            .mapped("external_id")
        )
        handler = events._handler_context()
        payloads = {}
        for event in handler:
            if seen[event.entity_external_id] > 1 or event.entity_external_id in bound:
                continue
            payload = event._payload()
            if not any(
                payload.get(key)
                for key in ("status", "package_external_id", "prime_external_id")
            ):
                payloads[event] = payload
        if len(payloads) < 2:
            return results
        try:  # the cost codes and types of the whole batch at once
            lookups = handler[:1]._change_order_lookups(
                [line for payload in payloads.values() for line in payload["lines"]]
            )
        except PermanentEventError:
            lookups = None  # an unmapped code: each event maps its own
        todo = []
        for event, payload in payloads.items():
            try:
                vals = event._prepare_change_order_vals(payload, None, lookups)
            except (PermanentEventError, UserError):
                continue  # its own savepoint records the failure
            todo.append((event, vals))
        if len(todo) < 2:
            return results
        Order = handler.env[CHANGE_ORDER].with_company(backend.company_id)
        try:
            with self.env.cr.savepoint():
                orders = Order.create([vals for _event, vals in todo])
                for (event, _vals), order in zip(todo, orders, strict=True):
                    event._bind(order)
                handler.env.flush_all()
        except (PermanentEventError, UserError) as err:
            _logger.info("batch create of change orders failed, one by one: %s", err)
            return results
        etype = todo[0][0]._event_type()
        for (event, _vals), order in zip(todo, orders, strict=True):
            results.append(self.browse(event.id)._mark_applied(etype, "done", order))
        return results

    def _change_order_lookups(self, lines):
        """({code: cost code}, {kind: cost type}) of ``lines``, one query each."""
        cost_codes = self.backend_id._map_cost_codes(
            [line["cost_code"] for line in lines]
        )
        cost_types = {}
        kinds = {line["cost_type"] for line in lines if line.get("cost_type")}
        if kinds:
            for cost_type in self.env["account.analytic.account"].search(
                [
                    ("construction_role", "=", "cost_type"),
                    ("cost_type_kind", "in", list(kinds)),
                ]
            ):
                cost_types.setdefault(cost_type.cost_type_kind, cost_type)
        return cost_codes, cost_types

    def _prepare_change_order_vals(self, payload, order, lookups=None):
        backend = self.backend_id
        project = self._change_project(payload["project"])
        side = payload.get("side", "prime")
        cost_codes, cost_types = lookups or self._change_order_lookups(payload["lines"])
        vals = {
            "project_id": project.id,
            "title": payload["title"],
            "line_ids": [Command.clear()]
            + [
                Command.create(
                    self._prepare_change_order_line_vals(line, cost_codes, cost_types)
                )
                for line in payload["lines"]
            ],
        }
        if not order:
            vals.update(side=side, tier_level=payload.get("tier_level", "co"))
        elif order.side != side or order.tier_level != payload.get("tier_level", "co"):
            raise PermanentEventError(
                _(
                    "%(order)s cannot change side or tier: send a new change order.",
                    order=order.display_name,
                )
            )
        for key in ("description", "schedule_impact_days", "is_backcharge"):
            if key in payload:
                vals[key] = payload[key]
        if "due_date" in payload:
            vals["due_date"] = payload["due_date"] or False
        if payload.get("partner"):
            kind = "customer" if side == "prime" else "vendor"
            vals["partner_id"] = backend._map_partner(payload["partner"], kind).id
        if payload.get("reason"):
            vals["reason_id"] = self._change_reason(payload["reason"]).id
        if payload.get("package_external_id"):
            vals["parent_id"] = self._change_order_bound(
                payload["package_external_id"], required=True
            ).id
        if "change_event_external_ids" in payload:
            change_events = self.env[CHANGE_EVENT]
            for external_id in payload["change_event_external_ids"] or []:
                change_event = self.env["construction.binding"]._find(
                    backend, CHANGE_EVENT, external_id
                )
                if not change_event:
                    raise ParentMissing(
                        _(
                            "Change event %(ext)s of %(backend)s has not been "
                            "received yet.",
                            ext=external_id,
                            backend=backend.name,
                        )
                    )
                change_events |= change_event
            vals["change_event_ids"] = [Command.set(change_events.ids)]
        if payload.get("prime_external_id"):
            vals["prime_change_order_id"] = self._change_order_bound(
                payload["prime_external_id"], required=True
            ).id
        return vals

    def _prepare_change_order_line_vals(self, line, cost_codes=None, cost_types=None):
        backend = self.backend_id
        cost_code = (cost_codes or {}).get(line["cost_code"]) or backend._map_cost_code(
            line["cost_code"]
        )
        vals = {
            "cost_code_id": cost_code.id,
            "name": line["description"],
            "quantity": line.get("quantity", 1.0),
            "unit_cost": line["unit_cost"],
            "markup_percent": line.get("markup_percent") or 0.0,
        }
        if line.get("cost_type"):
            cost_type = (cost_types or {}).get(
                line["cost_type"]
            ) or self._change_cost_type(line["cost_type"])
            vals["cost_type_id"] = cost_type.id
        if line.get("unit"):
            vals["uom_id"] = backend._map_uom(line["unit"]).id
        if line.get("price_amount") is not None:
            vals["price_amount"] = line["price_amount"]
        return vals

    # ---- change_event.upsert ----

    def _handle_change_event_upsert(self):
        """Create or update the bound change event; lines are replaced."""
        payload = self._payload()
        backend = self.backend_id
        Event = self.env[CHANGE_EVENT].with_company(backend.company_id)
        change_event = self.env["construction.binding"]._find(
            backend, CHANGE_EVENT, payload["external_id"]
        )
        project = self._change_project(payload["project"])
        cost_codes, cost_types = self._change_order_lookups(payload["lines"])
        vals = {
            "project_id": project.id,
            "title": payload["title"],
            "line_ids": [Command.clear()]
            + [
                Command.create(
                    {
                        "cost_code_id": cost_codes[line["cost_code"]].id,
                        "cost_type_id": line.get("cost_type")
                        and (
                            cost_types.get(line["cost_type"])
                            or self._change_cost_type(line["cost_type"])
                        ).id,
                        "name": line["description"],
                        "cost_estimate": line.get("cost_estimate") or 0.0,
                        "revenue_estimate": line.get("revenue_estimate") or 0.0,
                    }
                )
                for line in payload["lines"]
            ],
        }
        for key in ("origin", "origin_reference", "scope", "description"):
            if key in payload:
                vals[key] = payload[key] or False
        if payload.get("reason"):
            vals["reason_id"] = self._change_reason(payload["reason"]).id
        if change_event:
            self._lock(change_event)
            change_event.write(vals)
        else:
            change_event = Event.create(vals)
        if payload.get("status") and payload["status"] != change_event.state:
            action = {
                "open": change_event.action_reopen,
                "pending": change_event.action_pending,
                "closed": change_event.action_close,
                "void": change_event.action_void,
            }[payload["status"]]
            try:
                action()
            except UserError as err:
                raise PermanentEventError(str(err)) from None
            if change_event.state != payload["status"]:
                raise PermanentEventError(
                    _(
                        "Change event %(event)s cannot go from %(state)s to "
                        "%(status)s.",
                        event=change_event.name,
                        state=change_event.state,
                        status=payload["status"],
                    )
                )
        self._bind(change_event)
        return change_event

    # ---- change_order.status ----

    def _handle_change_order_status(self):
        payload = self._payload()
        order = self._change_order_bound(payload["external_id"], required=True)
        order._api_set_status(
            self._change_order_status(payload["status"]),
            payload.get("reason"),
            self.backend_id.name,
        )
        self._bind(order)
        return order

    # ---- diff (event view) ----

    def _payload_diff_extra(self, record, payload):
        rows = super()._payload_diff_extra(record, payload)
        if record._name != CHANGE_ORDER or self.event_type != "change_order.upsert":
            return rows
        backend = self.backend_id
        mapped = (
            ("project", "project_id", backend._map_project),
            ("partner", "partner_id", backend._map_partner),
        )
        for key, fname, mapper in mapped:
            if payload.get(key):
                try:
                    target = mapper(payload[key])
                except PermanentEventError:
                    target = record[fname].browse()
                row = self._diff_row(
                    record._fields[fname].string,
                    payload[key],
                    record,
                    odoo_value=record[fname],
                )
                row["differs"] = target != record[fname]
                rows.append(row)
        if payload.get("status"):
            rows.append(
                self._diff_row(
                    _("Status"),
                    payload["status"],
                    record,
                    odoo_value=record.status_id.code,
                )
            )
        lines = payload.get("lines") or []
        rows.append(
            self._diff_row(
                _("Number of lines"),
                len(lines),
                record,
                odoo_value=len(record.line_ids),
            )
        )
        currency = record.currency_id
        cost = currency.round(
            sum(line.get("quantity", 1.0) * line["unit_cost"] for line in lines)
        )
        rows.append(
            self._diff_row(
                record._fields["amount_cost"].string,
                cost,
                record,
                odoo_value=record.amount_cost
                - sum(record.child_ids.mapped("amount_cost")),
            )
        )
        return rows

    # ---- helpers ----

    def _change_order_bound(self, external_id, required=False):
        order = self.env["construction.binding"]._find(
            self.backend_id, CHANGE_ORDER, external_id
        )
        if required and not order:
            raise ParentMissing(
                _(
                    "Change order %(ext)s of %(backend)s has not been received yet.",
                    ext=external_id,
                    backend=self.backend_id.name,
                )
            )
        return order

    def _change_project(self, ref):
        """The mapped project, of the backend's company."""
        backend = self.backend_id
        project = backend._map_project(ref)
        if project.company_id and project.company_id != backend.company_id:
            raise PermanentEventError(
                _(
                    "Project %(project)s belongs to another company than %(backend)s.",
                    project=project.display_name,
                    backend=backend.name,
                )
            )
        return project

    def _change_reason(self, code):
        reason = self.env["construction.change.order.reason"].search(
            [("code", "=", code)], limit=1
        )
        if not reason:
            raise PermanentEventError(_("Unknown change reason %(code)s.", code=code))
        return reason

    def _change_cost_type(self, kind):
        cost_type = self.env["account.analytic.account"].search(
            [("construction_role", "=", "cost_type"), ("cost_type_kind", "=", kind)],
            limit=1,
        )
        if not cost_type:
            raise PermanentEventError(_("No cost type of kind %(kind)s.", kind=kind))
        return cost_type

    def _change_order_status(self, code):
        try:
            return self.env["construction.change.order.status"]._from_code(code)
        except UserError as err:
            raise PermanentEventError(str(err)) from None
