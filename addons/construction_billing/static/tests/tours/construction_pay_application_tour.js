/** @odoo-module **/
import {registry} from "@web/core/registry";

// A construction manager starts the month's pay application from the prime contract,
// enters the work done on the G703 continuation sheet, submits and certifies it, and
// opens the invoice that certification created.
registry.category("web_tour.tours").add("construction_pay_application_tour", {
    url: "/odoo/action-construction_billing.construction_contract_action",
    steps: () => [
        {
            content: "Open the Tour Library prime contract",
            trigger: ".o_data_row td.o_data_cell:contains('Tour Library')",
            run: "click",
        },
        {
            content: "Start a new pay application",
            trigger: "button[name='action_new_pay_application']",
            run: "click",
        },
        {
            content: "Select the concrete line of the continuation sheet",
            trigger:
                ".o_field_widget[name='line_ids'] .o_data_row:contains('Concrete') td[name='work_this_period']",
            run: "click",
        },
        {
            content: "Enter the work completed this period",
            trigger: ".o_data_row.o_selected_row td[name='work_this_period'] input",
            run: "edit 10000",
        },
        {
            content: "Submit the application (saves it)",
            trigger: "button[name='action_submit']",
            run: "click",
        },
        {
            content: "Certify it, which creates the invoice",
            trigger: "button[name='action_certify']",
            run: "click",
        },
        {
            content: "The application is certified",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains('Certified')",
        },
        {
            content: "Open its invoice",
            trigger: "button[name='action_view_invoice']",
            run: "click",
        },
        {
            content: "The draft invoice is billed to the owner",
            trigger: ".o_form_view .o_field_widget[name='partner_id']:contains('Test Owner LLC')",
        },
        {
            content: "with the retainage withheld on its own line",
            trigger: ".o_field_widget[name='invoice_line_ids'] .o_data_row:contains('-1,000.00')",
        },
    ],
});
