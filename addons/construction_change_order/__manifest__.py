{
    "name": "Construction Change Orders",
    "summary": "Change events and prime or commitment change orders with approvals"
    " and their effect on budget, contract and procurement",
    "version": "18.0.1.3.2",
    "category": "Construction",
    "license": "LGPL-3",
    "author": "Construction Suite Team",
    "website": "https://github.com/construction-suite/odoo-construction",
    "depends": ["construction_connector_base"],
    "data": [
        "security/ir.model.access.csv",
        "security/construction_change_order_security.xml",
        "data/change_order_status_data.xml",
        "views/change_order_templates.xml",
        "report/change_order_report.xml",
        "views/construction_change_order_views.xml",
        "views/construction_change_event_views.xml",
        "views/construction_change_order_config_views.xml",
        "views/construction_change_order_menus.xml",
        "data/construction_outbound_data.xml",
        "views/construction_navigation_views.xml",
        "views/res_config_settings_views.xml",
    ],
    "demo": [
        "demo/change_order_demo.xml",
    ],
    "assets": {
        "web.assets_tests": [
            "construction_change_order/static/tests/tours/*.js",
        ],
    },
    "development_status": "Alpha",
    "installable": True,
}
