/** @odoo-module **/
import {registry} from "@web/core/registry";

// A construction manager opens the project budget, follows its Change Orders button
// to a pending owner change order, approves it after reading the impact preview, and
// goes back to the budget: the change moved from Pending to Approved Changes.
registry.category("web_tour.tours").add("construction_change_order_approval_tour", {
    url: "/odoo/action-construction_connector_base.construction_budget_action",
    steps: () => [
        {
            content: "Open the Tour Library budget",
            trigger: ".o_data_row td.o_data_cell:contains('Tour Library')",
            run: "click",
        },
        {
            content: "The pending change order shows in Pending Changes",
            trigger: ".o_field_widget[name='pending_change_amount']:contains('3,000.00')",
        },
        {
            content: "The revised budget does not include it yet",
            trigger: ".o_field_widget[name='revised_amount']:contains('390,000.00')",
        },
        {
            content: "Open the project's change orders",
            trigger: "button[name='action_view_change_orders']",
            run: "click",
        },
        {
            content: "Open the pending change order",
            trigger: ".o_kanban_record:contains('Tour slab thickening')",
            run: "click",
        },
        {
            content: "Approve it",
            trigger: "button[name='action_open_decision_wizard']:contains('Approve')",
            run: "click",
        },
        {
            content: "The impact preview shows the budget before and after",
            trigger: ".modal .o_field_widget[name='impact_preview_html']:contains('T03-300')",
        },
        {
            content: "Confirm the approval",
            trigger: ".modal footer button[name='action_confirm']",
            run: "click",
        },
        {
            content: "The change order is approved",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains('Approved')",
        },
        {
            content: "Back to the budget",
            trigger: ".o_breadcrumb .breadcrumb-item a:contains('Tour Library')",
            run: "click",
        },
        {
            content: "The approved change now counts in Approved Changes",
            trigger: ".o_field_widget[name='approved_change_amount']:contains('3,000.00')",
        },
        {
            content: "The revised budget includes it",
            trigger: ".o_field_widget[name='revised_amount']:contains('393,000.00')",
        },
    ],
});
