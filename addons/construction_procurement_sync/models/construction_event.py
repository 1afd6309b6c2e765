from collections import defaultdict

from odoo import _, fields, models
from odoo.tools import float_compare

from odoo.addons.construction_connector_base.tools.event_types import EventType
from odoo.addons.construction_connector_base.tools.exceptions import (
    ParentMissing,
    PermanentEventError,
)

SCHEMAS = "construction_procurement_sync/schemas/"


class ConstructionEvent(models.Model):
    _inherit = "construction.event"

    def _event_types(self):
        types = super()._event_types()
        types["purchase.acknowledgement"] = EventType(
            schema=SCHEMAS + "purchase_acknowledgement.v1.json",
            handler="_handle_purchase_acknowledgement",
            entity_key="order",
            version_key="version",
            model="purchase.order",
            summary="A supplier accepts, rejects or changes a purchase order",
        )
        types["delivery.notice"] = EventType(
            schema=SCHEMAS + "delivery_notice.v1.json",
            handler="_handle_delivery_notice",
            entity_key="external_id",
            version_key="version",
            model="stock.picking",
            summary="A supplier ships or delivers goods of a purchase order",
        )
        types["supplier_invoice.status"] = EventType(
            schema=SCHEMAS + "supplier_invoice_status.v1.json",
            handler="_handle_supplier_invoice_status",
            entity_key="external_id",
            version_key="version",
            model="account.move",
            summary="A supplier submits, updates or withdraws an invoice",
            financial=True,
        )
        types["material_request.upsert"] = EventType(
            schema=SCHEMAS + "material_request_upsert.v1.json",
            handler="_handle_material_request_upsert",
            entity_key="external_id",
            version_key="version",
            model="construction.material.request",
            project_key="project",
            summary="An external requisition tool creates or updates a request",
        )
        types["subcontract_invoice.upsert"] = EventType(
            schema=SCHEMAS + "subcontract_invoice_upsert.v1.json",
            handler="_handle_subcontract_invoice_upsert",
            entity_key="external_id",
            version_key="version",
            model="construction.subcontract.pay.application",
            summary="A subcontractor portal submits or updates a pay application",
            financial=True,
        )
        return types

    # ---- helpers ----

    def _procurement_env(self):
        """Environment the procurement handlers work in.

        sudo: the integration user is a technical API user with no purchase,
        stock or accounting rights of its own (least privilege). It acts on our
        documents only through these validated event types, on records of its
        backend's company looked up by the handler; nothing is returned to it but
        the ids recorded on the event.
        """
        company = self.backend_id.company_id
        return self.sudo().with_company(company).env

    def _procurement_order(self, payload, allow_cancelled=False):
        """Our purchase order named in the payload: parked while unknown."""
        company = self.backend_id.company_id
        order = (
            self._procurement_env()["purchase.order"]
            .with_company(company)
            .search(
                [("name", "=", payload["order"]), ("company_id", "=", company.id)],
                limit=1,
            )
        )
        if not order:
            raise ParentMissing(
                _("Purchase order %(order)s is unknown.", order=payload["order"])
            )
        if order.state == "cancel" and not allow_cancelled:
            raise PermanentEventError(
                _("Purchase order %(order)s is cancelled.", order=order.name)
            )
        return order

    def _procurement_order_lines(self, order, lines_payload):
        """{purchase line: payload line}; an unknown line parks the event."""
        by_id = {line.id: line for line in order.order_line if not line.display_type}
        result = {}
        for item in lines_payload or []:
            line = by_id.get(item["line_id"])
            if not line:
                raise ParentMissing(
                    _(
                        "Line %(line)s is not on purchase order %(order)s.",
                        line=item["line_id"],
                        order=order.name,
                    )
                )
            result[line] = item
        return result

    # ---- purchase.acknowledgement ----

    def _handle_purchase_acknowledgement(self):
        payload = self._payload()
        order = self._procurement_order(payload)
        if order.state not in ("sent", "to approve", "purchase", "done"):
            raise PermanentEventError(
                _(
                    "Purchase order %(order)s was not sent to the supplier "
                    "(state %(state)s).",
                    order=order.name,
                    state=order.state,
                )
            )
        status = payload["status"]
        lines = self._procurement_order_lines(order, payload.get("lines"))
        changes = []
        for line, item in lines.items():
            vals = {}
            if "quantity" in item:
                rounding = line.product_uom.rounding
                if (
                    float_compare(
                        item["quantity"], line.qty_received, precision_rounding=rounding
                    )
                    < 0
                ):
                    raise PermanentEventError(
                        _(
                            "%(line)s: %(qty)s is less than already received "
                            "(%(received)s).",
                            line=line.name,
                            qty=item["quantity"],
                            received=line.qty_received,
                        )
                    )
                if float_compare(
                    item["quantity"], line.product_qty, precision_rounding=rounding
                ):
                    vals["product_qty"] = item["quantity"]
            if item.get("date_planned"):
                date = fields.Datetime.to_datetime(item["date_planned"])
                if date.date() != (line.date_planned and line.date_planned.date()):
                    vals["date_planned"] = date
            if vals:
                changes.append(
                    _(
                        "%(line)s: %(changes)s",
                        line=line.name,
                        changes=", ".join(
                            f"{line._fields[k].string} → {v}" for k, v in vals.items()
                        ),
                    )
                )
                line.write(vals)
        if changes and status == "accepted":
            status = "changed"
        order.write(
            {
                "construction_supplier_state": status,
                "construction_supplier_note": payload.get("note") or False,
                "partner_ref": payload.get("supplier_ref") or order.partner_ref,
            }
        )
        order.message_post(
            body=_(
                "Supplier acknowledgement (%(backend)s): %(status)s. %(note)s\n"
                "%(changes)s",
                backend=self.backend_id.name,
                status=status,
                note=payload.get("note") or "",
                changes="\n".join(changes),
            ),
            subtype_xmlid="mail.mt_note",
        )
        if status == "rejected":
            order.activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=(order.user_id or self.env.user).id,
                summary=_("Supplier rejected %(order)s", order=order.name),
            )
        self._bind(order)
        return order

    # ---- delivery.notice ----

    def _handle_delivery_notice(self):
        payload = self._payload()
        order = self._procurement_order(payload)
        if order.state not in ("purchase", "done"):
            raise PermanentEventError(
                _("Purchase order %(order)s is not confirmed.", order=order.name)
            )
        lines = self._procurement_order_lines(order, payload["lines"])
        if payload["status"] == "shipped":
            order.message_post(
                body=_(
                    "Shipped (notice %(ref)s): %(lines)s",
                    ref=payload["external_id"],
                    lines=", ".join(
                        f"{line.name} × {item['quantity']}"
                        for line, item in lines.items()
                    ),
                ),
                subtype_xmlid="mail.mt_note",
            )
            return order.picking_ids.filtered(
                lambda p: p.state not in ("done", "cancel")
            )[:1]
        picking = order.picking_ids.filtered(
            lambda p: (
                p.state not in ("done", "cancel")
                and p.picking_type_id.code == "incoming"
            )
        ).sorted(lambda p: (p.scheduled_date, p.id))[:1]
        if not picking:
            raise PermanentEventError(
                _(
                    "Purchase order %(order)s has no receipt waiting for goods.",
                    order=order.name,
                )
            )
        quantities = defaultdict(float)
        for line, item in lines.items():
            quantities[line] += item["quantity"]
        moves_by_line = defaultdict(lambda: order.env["stock.move"])
        for move in picking.move_ids.filtered(lambda m: m.state != "cancel"):
            moves_by_line[move.purchase_line_id] |= move
        for line in quantities:
            if not moves_by_line.get(line):
                raise PermanentEventError(
                    _(
                        "%(line)s is not on the open receipt %(picking)s.",
                        line=line.name,
                        picking=picking.name,
                    )
                )
        for move in picking.move_ids.filtered(lambda m: m.state != "cancel"):
            qty = quantities.get(move.purchase_line_id, 0.0)
            siblings = moves_by_line[move.purchase_line_id]
            # The whole quantity of a line goes on its first move.
            if move != siblings[:1]:
                qty = 0.0
            move.quantity = move.purchase_line_id.product_uom._compute_quantity(
                qty, move.product_uom
            )
            move.picked = True
        if payload.get("carrier_ref"):
            picking.origin = ", ".join(
                filter(None, [picking.origin, payload["carrier_ref"]])
            )
        # Partial deliveries leave a backorder, as Odoo does by default.
        picking.with_context(skip_backorder=True).button_validate()
        self._bind(picking)
        return picking

    # ---- supplier_invoice.status ----

    def _handle_supplier_invoice_status(self):
        payload = self._payload()
        backend = self.backend_id
        bill = (
            self.env["construction.binding"]
            ._find(backend, "account.move", payload["external_id"])
            .with_env(self._procurement_env())
        )
        status = payload["status"]
        if not bill and status != "submitted":
            raise ParentMissing(
                _(
                    "Supplier invoice %(ref)s is not known yet.",
                    ref=payload["external_id"],
                )
            )
        order = self._procurement_order(payload, allow_cancelled=bool(bill))
        if status == "submitted":
            bill = self._procurement_upsert_bill(order, bill, payload)
        elif status == "withdrawn":
            if bill.state == "posted":
                raise PermanentEventError(
                    _(
                        "Bill %(bill)s is posted: a withdrawn invoice needs a credit "
                        "note from the supplier.",
                        bill=bill.display_name,
                    )
                )
            if bill.state == "draft":
                bill.button_cancel()
        bill.construction_supplier_status = status
        bill.message_post(
            body=_(
                "Supplier invoice status (%(backend)s): %(status)s",
                backend=backend.name,
                status=status,
            ),
            subtype_xmlid="mail.mt_note",
        )
        self._bind(bill)
        return bill

    def _procurement_upsert_bill(self, order, bill, payload):
        if order.state not in ("purchase", "done"):
            raise PermanentEventError(
                _("Purchase order %(order)s is not confirmed.", order=order.name)
            )
        if bill and bill.state != "draft":
            raise PermanentEventError(
                _(
                    "Bill %(bill)s is already %(state)s: it cannot be changed by the "
                    "supplier any more.",
                    bill=bill.display_name,
                    state=bill.state,
                )
            )
        company = order.company_id
        currency = order.currency_id
        if payload.get("currency"):
            currency = self._procurement_env()["res.currency"].search(
                [("name", "=", payload["currency"])], limit=1
            )
            if not currency or not currency.active:
                raise PermanentEventError(
                    _("Currency %(c)s is not active.", c=payload["currency"])
                )
        date = fields.Date.to_date(payload.get("invoice_date")) or fields.Date.today()
        if currency != company.currency_id and not self._procurement_env()[
            "res.currency.rate"
        ].search_count(
            [
                ("currency_id", "=", currency.id),
                ("company_id", "in", (company.root_id.id, False)),
                ("name", "<=", date),
            ],
            limit=1,
        ):
            raise PermanentEventError(
                _(
                    "No exchange rate for %(currency)s on or before %(date)s: add "
                    "one before the bill can be recorded.",
                    currency=currency.name,
                    date=date,
                )
            )
        lines = self._procurement_order_lines(order, payload.get("lines"))
        if not lines:
            raise PermanentEventError(_("A submitted invoice needs lines."))
        Move = self._procurement_env()["account.move"].with_company(company)
        if not bill:
            vals = order.with_company(company)._prepare_invoice()
            vals["currency_id"] = currency.id
            bill = Move.create(vals)
        else:
            bill.invoice_line_ids.unlink()
            bill.currency_id = currency
        line_vals = []
        for line, item in lines.items():
            values = line._prepare_account_move_line(bill)
            values.update(
                {
                    "move_id": bill.id,
                    "quantity": item["quantity"],
                    "price_unit": item["price_unit"],
                }
            )
            line_vals.append(values)
        Move.env["account.move.line"].with_company(company).create(line_vals)
        bill.write(
            {
                "ref": payload.get("number") or bill.ref,
                "invoice_date": date,
                **order._construction_bill_terms(date),
            }
        )
        bill._construction_sync_retainage()
        return bill

    # ---- material_request.upsert ----

    def _handle_material_request_upsert(self):
        payload = self._payload()
        backend = self.backend_id
        env = self._procurement_env()
        project = backend._map_project(payload["project"]).with_env(env)
        Request = env["construction.material.request"].with_company(backend.company_id)
        request = (
            self.env["construction.binding"]
            ._find(backend, Request._name, payload["external_id"])
            .with_env(env)
        )
        if request and request.state not in ("draft", "to_approve"):
            raise PermanentEventError(
                _(
                    "Material request %(name)s is already %(state)s in Odoo: "
                    "change it there.",
                    name=request.name,
                    state=request.state,
                )
            )
        line_vals = [self._procurement_request_line(item) for item in payload["lines"]]
        vals = {
            "project_id": project.id,
            "date_needed": payload.get("date_needed") or False,
            "description": payload.get("description") or False,
            "origin": payload["external_id"],
            "line_ids": [(5, 0, 0)] + [(0, 0, v) for v in line_vals],
        }
        if request:
            if request.state == "to_approve":
                request.state = "draft"
            request.write(vals)
        else:
            vals.update(source="external", requester_id=backend.user_id.id or env.uid)
            request = Request.create(vals)
        if payload.get("submit"):
            request.action_submit()
        self._bind(request)
        return request

    def _procurement_request_line(self, item):
        backend = self.backend_id
        vals = {"product_qty": item["quantity"]}
        if item.get("description"):
            vals["name"] = item["description"]
        if item.get("date_needed"):
            vals["date_needed"] = item["date_needed"]
        if item.get("cost_code"):
            vals["cost_code_id"] = backend._map_cost_code(item["cost_code"]).id
        if item.get("cost_type"):
            vals["cost_type_id"] = (
                self._procurement_env()
                .ref(f"construction_connector_base.cost_type_{item['cost_type']}")
                .id
            )
        if item.get("product"):
            product = self._procurement_env()["product.product"].search(
                [
                    ("default_code", "=", item["product"]),
                    ("company_id", "in", (backend.company_id.id, False)),
                ],
                limit=1,
            )
            if not product:
                raise PermanentEventError(
                    _("Unknown product %(ref)s.", ref=item["product"])
                )
            vals["product_id"] = product.id
        elif not item.get("description"):
            raise PermanentEventError(_("A line needs a product or a description."))
        if item.get("uom"):
            vals["product_uom_id"] = backend._map_uom(item["uom"]).id
        return vals

    # ---- subcontract_invoice.upsert ----

    def _handle_subcontract_invoice_upsert(self):
        payload = self._payload()
        backend = self.backend_id
        env = self._procurement_env()
        order = self._procurement_order(payload)
        if not order.construction_is_subcontract or order.state not in (
            "purchase",
            "done",
        ):
            raise PermanentEventError(
                _("%(order)s is not a confirmed subcontract.", order=order.name)
            )
        App = env["construction.subcontract.pay.application"].with_company(
            backend.company_id
        )
        app = (
            self.env["construction.binding"]
            ._find(backend, App._name, payload["external_id"])
            .with_env(env)
        )
        if app and app.state not in ("draft", "revise_and_resubmit", "under_review"):
            raise PermanentEventError(
                _(
                    "Pay application %(name)s is already %(state)s in Odoo.",
                    name=app.name,
                    state=app.state,
                )
            )
        vals = {
            "period_start": payload["period_start"],
            "period_end": payload["period_end"],
            "application_type": payload.get("application_type") or "work_materials",
        }
        if app:
            if app.state == "under_review":
                app.state = "revise_and_resubmit"
            app.write(vals)
        else:
            vals["order_id"] = order.id
            app = App.create(vals)
        items = {item["line_id"]: item for item in payload["lines"]}
        unknown = set(items) - set(app.line_ids.purchase_line_id.ids)
        if unknown:
            raise PermanentEventError(
                _(
                    "Line %(line)s is not on subcontract %(order)s.",
                    line=min(unknown),
                    order=order.name,
                )
            )
        # A version is the whole requisition: a line it leaves out bills no work
        # and releases nothing this period (stored materials stay as they were).
        for line in app.line_ids:
            item = items.get(line.purchase_line_id.id, {})
            line_vals = {
                "work_this_period": item.get("work_this_period", 0.0),
                "retainage_release": item.get("retainage_release", 0.0),
            }
            if "stored_to_date" in item:
                line_vals["stored_to_date"] = item["stored_to_date"]
            line.write(line_vals)
        if not app.retainage_release_by_line:  # released as a total
            app.retainage_release_amount = payload.get("retainage_release") or 0.0
        if payload.get("submit"):
            app.action_submit()
        self._bind(app)
        return app
