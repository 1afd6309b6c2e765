def post_init_hook(env):
    """Give every company that already has a chart of accounts its Retention
    Receivable account, so contracts can be billed at once."""
    for company in env["res.company"].search([("chart_template", "!=", False)]):
        company._construction_retention_receivable_account()
