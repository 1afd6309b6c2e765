/** @odoo-module **/
import {registry} from "@web/core/registry";

// A construction manager reopens a certified pay application whose invoice is not paid
// yet, says why, and finds it back in draft with the reason shown.
registry.category("web_tour.tours").add("construction_pay_application_reopen_tour", {
    steps: () => [
        {
            content: "The application is certified and invoiced",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains('Invoiced')",
        },
        {
            content: "Reopen it",
            trigger: ".o_statusbar_buttons button:contains('Reopen')",
            run: "click",
        },
        {
            content: "Say why",
            trigger: ".modal .o_field_widget[name='reason'] textarea",
            run: "edit Steel stored twice",
        },
        {
            content: "Confirm",
            trigger: ".modal button[name='action_reopen']",
            run: "click",
        },
        {
            content: "It is a draft again",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains('Draft')",
        },
        {
            content: "with the reason on the form",
            trigger: ".o_field_widget[name='revision_reason']:contains('Steel stored twice')",
        },
    ],
});
