from odoo import fields, models


class ProjectProject(models.Model):
    _inherit = "project.project"

    construction_contract_ids = fields.One2many(
        "construction.contract", "project_id", string="Prime Contracts"
    )

    def action_view_construction_contracts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "construction_billing.construction_contract_action"
        )
        action["domain"] = [("project_id", "=", self.id)]
        action["context"] = {
            "default_project_id": self.id,
            "default_partner_id": self.partner_id.id,
        }
        return action

    def action_view_construction_pay_applications(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "construction_billing.construction_pay_application_history_action"
        )
        action["domain"] = [("project_id", "=", self.id)]
        action["context"] = {}
        return action
