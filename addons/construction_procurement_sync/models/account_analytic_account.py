from odoo import api, models


class AccountAnalyticAccount(models.Model):
    _inherit = "account.analytic.account"

    @api.model
    def _construction_split_keys(self, keys):
        """Read analytic distribution keys as construction dimensions.

        :param keys: distribution keys such as ``"12,40,7"`` (account ids joined by
            commas, as stored in ``analytic_distribution``)
        :return: ``{key: (project, cost code, cost type, other account ids)}`` where
            the project is the project whose analytic account is in the key
        """
        ids_by_key = {}
        for key in keys:
            ids_by_key[key] = [
                int(i) for i in str(key).split(",") if i.strip().isdigit()
            ]
        all_ids = {i for ids in ids_by_key.values() for i in ids}
        # sudo: only the role and owning project of accounts the caller already
        # references in a distribution are read.
        accounts = self.sudo().browse(all_ids).exists()
        role = {account.id: account.construction_role for account in accounts}
        projects = (
            self.env["project.project"]
            .sudo()
            .with_context(active_test=False)
            .search([("account_id", "in", list(all_ids))], order="id")
        )
        project_by_account = {}
        for project in projects:
            project_by_account.setdefault(project.account_id.id, project)
        Project = self.env["project.project"]
        Account = self.env["account.analytic.account"]
        result = {}
        for key, ids in ids_by_key.items():
            project = Project
            cost_code = cost_type = Account
            others = []
            for account_id in ids:
                if role.get(account_id) == "cost_code":
                    cost_code = Account.browse(account_id)
                elif role.get(account_id) == "cost_type":
                    cost_type = Account.browse(account_id)
                elif account_id in project_by_account and not project:
                    project = Project.browse(project_by_account[account_id].id)
                else:
                    others.append(account_id)
            result[key] = (project, cost_code, cost_type, others)
        return result

    @api.model
    def _construction_budget_keys_from_distributions(self, distributions):
        """Budget keys (project account, cost code, cost type) met in distributions."""
        keys = {key for distribution in distributions for key in (distribution or {})}
        budget_keys = set()
        for project, cost_code, cost_type, _others in self._construction_split_keys(
            keys
        ).values():
            if project.account_id and cost_code:
                budget_keys.add(
                    (project.account_id.id, cost_code.id, cost_type.id or False)
                )
        return budget_keys
