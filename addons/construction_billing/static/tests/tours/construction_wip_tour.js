/** @odoo-module **/
import {registry} from "@web/core/registry";

// A controller opens the month's work in progress schedule from the Billing menu,
// finds a project billed behind its earned revenue and books the adjustment.
registry.category("web_tour.tours").add("construction_wip_tour", {
    url: "/odoo/action-construction_billing.construction_contract_action",
    steps: () => [
        {
            content: "Open the Billing menu",
            trigger: "[data-menu-xmlid='construction_billing.menu_construction_billing']",
            run: "click",
        },
        {
            content: "Open the work in progress schedule",
            trigger: "[data-menu-xmlid='construction_billing.menu_construction_wip_report']",
            run: "click",
        },
        {
            content: "Show the schedule as of today",
            trigger: ".modal button[name='action_compute']",
            run: "click",
        },
        {
            content: "The project is 30,000.00 under billed",
            trigger:
                ".o_data_row:contains('Tour WIP Clinic') td[name='under_billing']:contains('30,000.00')",
        },
        {
            content: "Select it",
            trigger: ".o_data_row:contains('Tour WIP Clinic') .o_list_record_selector input",
            run: "click",
        },
        {
            content: "Book the adjustment",
            trigger: "button[name='action_post_adjustment']",
            run: "click",
        },
        {
            content: "The posted journal entry opens",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains('Posted')",
        },
    ],
});
