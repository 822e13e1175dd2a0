//! The update request: only `external_reference_id` may change.

use crate::ids::ExternalReferenceId;

/// A change to an existing export. DIDWW lets only `external_reference_id` change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateExport {
    external_reference_id: Option<ExternalReferenceId>,
}

impl UpdateExport {
    /// Sets `external_reference_id` to `reference`.
    pub fn set_external_reference_id(reference: ExternalReferenceId) -> Self {
        UpdateExport {
            external_reference_id: Some(reference),
        }
    }

    /// Clears `external_reference_id` (sends `null`).
    pub fn clear_external_reference_id() -> Self {
        UpdateExport {
            external_reference_id: None,
        }
    }

    /// The new value (`None` clears it).
    pub fn external_reference_id(&self) -> Option<&ExternalReferenceId> {
        self.external_reference_id.as_ref()
    }
}
