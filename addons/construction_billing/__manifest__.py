{
    "name": "Construction Billing",
    "summary": "Schedules of values, AIA G702/G703 progress billing, milestone"
    " billing and retainage",
    "version": "18.0.1.4.0",
    "category": "Construction",
    "license": "LGPL-3",
    "author": "Construction Suite Team",
    "website": "https://github.com/construction-suite/odoo-construction",
    "depends": ["account", "project", "construction_change_order"],
    "data": [
        "security/ir.model.access.csv",
        "security/construction_billing_security.xml",
        "data/ir_sequence_data.xml",
        "views/construction_contract_views.xml",
        "views/construction_pay_application_reopen_views.xml",
        "views/construction_pay_application_views.xml",
        "views/construction_retainage_views.xml",
        "views/project_project_views.xml",
        "views/res_config_settings_views.xml",
        "views/construction_wip_report_views.xml",
        "views/construction_billing_menus.xml",
        "views/construction_navigation_views.xml",
        "report/pay_application_report.xml",
        "data/construction_outbound_data.xml",
    ],
    "demo": [
        "demo/construction_billing_demo.xml",
    ],
    "post_init_hook": "post_init_hook",
    "assets": {
        "web.assets_tests": [
            "construction_billing/static/tests/tours/*.js",
        ],
    },
    "development_status": "Alpha",
    "installable": True,
}
