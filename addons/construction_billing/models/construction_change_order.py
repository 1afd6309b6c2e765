from odoo import _, fields, models


class ConstructionChangeOrder(models.Model):
    """Approved prime change orders change the contract sum and the schedule
    of values of the project's prime contract."""

    _inherit = "construction.change.order"

    def _billing_change_date(self):
        self.ensure_one()
        if self.approved_date:
            return fields.Date.context_today(self, self.approved_date)
        return fields.Date.context_today(self)

    def _apply_approval_effects(self):
        res = super()._apply_approval_effects()
        Contract = self.env["construction.contract"]
        for order in self.filtered(
            lambda co: (
                co.side == "prime" and not co.parent_id and co.stage_kind == "approved"
            )
        ):
            contract = Contract._for_change_order(order)
            if contract:
                # sudo: the contract change is an effect of the approval, whose
                # right the workflow checked (approver of the pending level, or
                # the platform as approver of record); approvers need no write
                # access to contracts. The contract was found with their rights.
                contract.sudo()._apply_change_order(
                    order, date=order._billing_change_date()
                )
        return res

    def _revert_approval_effects(self):
        res = super()._revert_approval_effects()
        changes = self.env["construction.contract.change"].search(
            [("res_model", "=", self._name), ("res_id", "in", self.ids)]
        )
        for order in self.filtered(lambda co: co.side == "prime"):
            mine = changes.filtered(lambda c, o=order: c.res_id == o.id)
            for contract in mine.contract_id:
                # sudo: effect of a void the workflow allowed, as above.
                contract.sudo()._revert_change_order(order)
        return res

    def _get_impact_preview(self):
        preview = super()._get_impact_preview()
        if self.side != "prime" or self.parent_id:
            return preview
        contract = self.env["construction.contract"]._for_change_order(self)
        if not contract:
            preview["warnings"].append(
                _(
                    "Project %(project)s has no active prime contract: approving"
                    " will not change any contract sum.",
                    project=self.project_id.display_name,
                )
            )
            return preview
        before = contract.contract_sum_to_date
        after = before
        if self.stage_kind != "approved":
            after = contract.currency_id.round(before + self.amount_price)
        preview["contract_sum_before"] = before
        preview["contract_sum_after"] = after
        preview["summary_rows"].append(
            {
                "label": _("Contract sum (%(contract)s)", contract=contract.name),
                "before": before,
                "after": after,
            }
        )
        return preview
