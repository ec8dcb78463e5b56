//! TODO
pub(crate) fn plan_orders(_input: &super::ReconcileInput<'_>, _plan: &mut crate::domain::Plan) {}
