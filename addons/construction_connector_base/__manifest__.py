{
    "name": "Construction Connector Base",
    "summary": "Cost codes, project job-cost budgets and the integration framework "
    "shared by the construction suite",
    "version": "18.0.1.0.0",
    "category": "Construction",
    "license": "LGPL-3",
    "author": "Construction Suite Team",
    "website": "https://github.com/construction-suite/odoo-construction",
    "depends": ["project", "account", "mail", "queue_job"],
    "external_dependencies": {"python": ["jsonschema", "requests"]},
    "data": [
        "security/construction_security.xml",
        "security/ir.model.access.csv",
        "data/analytic_plan_data.xml",
        "data/ir_sequence_data.xml",
        "data/queue_job_data.xml",
        "data/construction_integration_data.xml",
        "views/account_analytic_account_views.xml",
        "views/construction_budget_views.xml",
        "views/construction_budget_modification_views.xml",
        "views/project_project_views.xml",
        "views/construction_backend_views.xml",
        "views/construction_event_views.xml",
        "views/construction_binding_views.xml",
        "views/construction_menus.xml",
    ],
    "demo": [
        "demo/construction_demo.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "construction_connector_base/static/tests/tours/*.js",
        ],
    },
    "application": True,
    "development_status": "Alpha",
    "installable": True,
}
