from odoo import fields, models


class ConstructionBudget(models.Model):
    _inherit = "construction.budget"

    contract_count = fields.Integer(compute="_compute_billing_counts")
    pay_application_count = fields.Integer(compute="_compute_billing_counts")

    def _compute_billing_counts(self):
        contracts = self._project_counts("construction.contract")
        applications = self._project_counts("construction.pay.application")
        for budget in self:
            budget.contract_count = contracts.get(budget.project_id, 0)
            budget.pay_application_count = applications.get(budget.project_id, 0)

    def action_view_construction_contracts(self):
        self.ensure_one()
        return self.project_id.action_view_construction_contracts()

    def action_view_construction_pay_applications(self):
        self.ensure_one()
        return self.project_id.action_view_construction_pay_applications()


class ConstructionPayApplication(models.Model):
    _inherit = "construction.pay.application"

    def action_view_contract(self):
        self.ensure_one()
        return self.contract_id.get_formview_action()
