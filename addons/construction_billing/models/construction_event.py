from odoo import _, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.construction_connector_base.tools.event_types import EventType
from odoo.addons.construction_connector_base.tools.exceptions import (
    ParentMissing,
    PermanentEventError,
)


class ConstructionEvent(models.Model):
    _inherit = "construction.event"

    def _event_types(self):
        types = super()._event_types()
        types["progress.update"] = EventType(
            schema="construction_billing/schemas/progress_update.v1.json",
            handler="_handle_progress_update",
            entity_key="external_id",
            version_key="version",
            model="construction.pay.application",
            project_key="project",
            summary="Progress per schedule-of-values line for a billing period",
            financial=True,
        )
        return types

    def _handle_progress_update(self):
        """progress.update: set the period's progress on the draft pay
        application of the contract for that period (created if needed).

        Progress is absolute (percent or amount to date, or the period's
        amount), so applying a report again or a newer version of it replaces
        the figures instead of adding to them. A report for the next period
        while the current application is still open is parked until that one
        is certified; a report for a period already submitted or certified
        fails with the reason.
        """
        payload = self._payload()
        backend = self.backend_id
        contract = self._progress_contract(payload)
        try:
            period_to = fields.Date.to_date(payload["period_to"])
        except ValueError as err:
            raise PermanentEventError(
                _("Invalid period_to %(date)s.", date=payload["period_to"])
            ) from err
        app = self._progress_application(contract, period_to)
        lines = self._progress_line_values(app, payload["lines"])
        try:
            for line, vals in lines:
                line.with_context(construction_billing_defer_retainage=True).write(vals)
            app._compute_retainage()  # once for the whole report
            app.line_ids._check_progress()
        except ValidationError as err:
            raise PermanentEventError(str(err)) from err
        # A log note (no email): integration users have no mailbox.
        app._message_log(
            body=_(
                "Progress for the period to %(date)s received from %(backend)s"
                " (report %(ref)s, version %(version)s).",
                date=period_to,
                backend=backend.name,
                ref=payload["external_id"],
                version=payload["version"],
            )
        )
        self._bind(app)
        return app

    def _progress_contract(self, payload):
        backend = self.backend_id
        project = backend._map_project(payload["project"])
        domain = [
            ("project_id", "=", project.id),
            ("company_id", "=", backend.company_id.id),
            ("state", "=", "active"),
            ("billing_method", "=", "progress"),
        ]
        if payload.get("contract"):
            domain.append(("name", "=", payload["contract"]))
        contracts = self.env["construction.contract"].search(domain)
        if len(contracts) != 1:
            raise PermanentEventError(
                _(
                    "%(count)s active progress-billed contracts match project"
                    " %(project)s%(contract)s: exactly one is needed.",
                    count=len(contracts),
                    project=payload["project"],
                    contract=_(" and contract %(name)s", name=payload["contract"])
                    if payload.get("contract")
                    else "",
                )
            )
        return contracts

    def _progress_application(self, contract, period_to):
        apps = contract.pay_application_ids
        app = apps.filtered(lambda a: a.period_to == period_to)
        if app:
            if app.approval_state != "draft":
                raise PermanentEventError(
                    _(
                        "%(app)s for the period to %(date)s is %(state)s: its"
                        " progress can no longer change. Report it in the next"
                        " period.",
                        app=app.name,
                        date=period_to,
                        state=app.approval_state,
                    )
                )
            return app
        open_app = apps.filtered(lambda a: a.approval_state != "certified")
        if open_app:
            if open_app.period_to < period_to:
                raise ParentMissing(
                    _(
                        "%(app)s (period to %(date)s) must be certified before"
                        " progress for a later period is applied.",
                        app=open_app.name,
                        date=open_app.period_to,
                    )
                )
            raise PermanentEventError(
                _(
                    "The period to %(date)s is before the open %(app)s.",
                    date=period_to,
                    app=open_app.name,
                )
            )
        last = apps.sorted("number")[-1:]
        if last and last.period_to >= period_to:
            raise PermanentEventError(
                _(
                    "The period to %(date)s is already billed (%(app)s, period to"
                    " %(last)s).",
                    date=period_to,
                    app=last.name,
                    last=last.period_to,
                )
            )
        return self.env["construction.pay.application"].create(
            {"contract_id": contract.id, "period_to": period_to, "date": period_to}
        )

    def _progress_line_values(self, app, lines):
        backend = self.backend_id
        currency = app.currency_id
        result = []
        for data in lines:
            if data.get("item_no"):
                line = app.line_ids.filtered(
                    lambda al, d=data: al.item_no == d["item_no"]
                )
                ref = data["item_no"]
            else:
                cost_code = backend._map_cost_code(data["cost_code"])
                line = app.line_ids.filtered(
                    lambda al, cc=cost_code: al.cost_code_id == cc
                )
                ref = data["cost_code"]
            if len(line) != 1:
                raise PermanentEventError(
                    _(
                        "Schedule-of-values line %(ref)s: %(count)s lines of"
                        " %(contract)s match, exactly one is needed.",
                        ref=ref,
                        count=len(line),
                        contract=app.contract_id.name,
                    )
                )
            if "percent_complete" in data:
                to_date = currency.round(
                    line.scheduled_value * data["percent_complete"] / 100
                )
                work = to_date - line.previous_work
            elif "work_completed_to_date" in data:
                work = data["work_completed_to_date"] - line.previous_work
            else:
                work = data["work_this_period"]
            vals = {"work_this_period": currency.round(work)}
            if "stored_to_date" in data:
                vals["stored_to_date"] = currency.round(data["stored_to_date"])
            result.append((line, vals))
        return result
