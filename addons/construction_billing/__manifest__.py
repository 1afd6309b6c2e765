{
    "name": "Construction Billing",
    "summary": "Schedules of values, AIA G702/G703 progress billing, milestone"
    " billing and retainage",
    "version": "18.0.1.0.0",
    "category": "Construction",
    "license": "LGPL-3",
    "author": "Construction Suite Team",
    "website": "https://github.com/construction-suite/odoo-construction",
    "depends": ["account", "construction_change_order"],
    "data": [
        "security/ir.model.access.csv",
    ],
    "development_status": "Alpha",
    "installable": True,
}
