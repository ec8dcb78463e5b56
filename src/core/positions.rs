//! TODO
pub(crate) fn plan_positions(_input: &super::ReconcileInput<'_>, _r: &super::Recovered, _plan: &mut crate::domain::Plan) {}
