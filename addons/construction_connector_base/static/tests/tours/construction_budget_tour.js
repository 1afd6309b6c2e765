/** @odoo-module **/
import {registry} from "@web/core/registry";

// A construction manager opens a project's job-cost budget, checks its columns and locks it.
registry.category("web_tour.tours").add("construction_budget_lock_tour", {
    url: "/odoo/action-construction_connector_base.construction_budget_action",
    steps: () => [
        {
            content: "Open the Tour Clinic budget",
            trigger: ".o_data_row td.o_data_cell:contains('Tour Clinic')",
            run: "click",
        },
        {
            content: "The over/under column shows the overrun",
            trigger: ".o_field_widget[name='over_under_amount']:contains('-2,500.00')",
        },
        {
            content: "Lock the budget",
            trigger: "button[name='action_lock']",
            run: "click",
        },
        {
            content: "The budget shows it is locked",
            trigger: ".ribbon:contains('Locked')",
        },
    ],
});
