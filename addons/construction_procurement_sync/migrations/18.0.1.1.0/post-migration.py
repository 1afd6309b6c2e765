def migrate(cr, version):
    """Number existing subcontractor pay applications per subcontract in period
    order, and remember the approval state of approved and paid ones (restored
    when the payment of their bill is undone)."""
    if not version:
        return
    cr.execute(
        """
        UPDATE construction_subcontract_pay_application app
           SET application_number = numbered.rank
          FROM (
                SELECT id,
                       ROW_NUMBER() OVER (
                           PARTITION BY order_id ORDER BY period_end, id
                       ) AS rank
                  FROM construction_subcontract_pay_application
               ) numbered
         WHERE numbered.id = app.id
           AND COALESCE(app.application_number, 0) = 0
        """
    )
    cr.execute(
        """
        UPDATE construction_subcontract_pay_application
           SET approved_state = CASE WHEN state = 'approved_as_noted'
                                     THEN 'approved_as_noted' ELSE 'approved' END
         WHERE state IN ('approved', 'approved_as_noted', 'paid')
           AND approved_state IS NULL
        """
    )
