from odoo import _, api, models


class ConstructionPayApplication(models.Model):
    """A pay application whose progress comes from a field platform keeps the
    platform's period and progress figures (see construction.synced.mixin)."""

    _name = "construction.pay.application"
    _inherit = ["construction.pay.application", "construction.synced.mixin"]

    @api.model
    def _construction_locked_fields(self):
        return super()._construction_locked_fields() + ["contract_id", "period_to"]

    @api.model
    def _construction_locked_hint(self):
        return _(
            "Correct the progress in the field platform (it re-syncs), or report "
            "it in the next period."
        )


class ConstructionPayApplicationLine(models.Model):
    _name = "construction.pay.application.line"
    _inherit = ["construction.pay.application.line", "construction.synced.mixin"]

    @api.model
    def _construction_locked_fields(self):
        return super()._construction_locked_fields() + [
            "work_this_period",
            "percent_this_period",
            "stored_to_date",
        ]

    def _construction_locked_hint(self):
        return self.env["construction.pay.application"]._construction_locked_hint()

    def _construction_synced_source(self):
        return self.application_id
