from odoo import _, api, models


class ConstructionSubcontractPayApplication(models.Model):
    """A pay application received from the subcontractor portal keeps the
    portal's period and amounts (see construction.synced.mixin)."""

    _name = "construction.subcontract.pay.application"
    _inherit = [
        "construction.subcontract.pay.application",
        "construction.synced.mixin",
    ]

    @api.model
    def _construction_locked_fields(self):
        return super()._construction_locked_fields() + [
            "order_id",
            "period_start",
            "period_end",
            "application_type",
            "retainage_release_amount",
        ]

    @api.model
    def _construction_locked_hint(self):
        return _(
            "Ask the subcontractor to revise it in the portal (it re-syncs), or "
            "reject the lines concerned."
        )


class ConstructionSubcontractPayApplicationLine(models.Model):
    _name = "construction.subcontract.pay.application.line"
    _inherit = [
        "construction.subcontract.pay.application.line",
        "construction.synced.mixin",
    ]

    @api.model
    def _construction_locked_fields(self):
        return super()._construction_locked_fields() + [
            "work_this_period",
            "percent_this_period",
            "stored_to_date",
        ]

    def _construction_locked_hint(self):
        return self.env[
            "construction.subcontract.pay.application"
        ]._construction_locked_hint()

    def _construction_synced_source(self):
        return self.application_id
