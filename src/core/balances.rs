//! TODO
pub(crate) fn plan_balances(_input: &super::ReconcileInput<'_>, _r: &super::Recovered, _plan: &mut crate::domain::Plan) {}
