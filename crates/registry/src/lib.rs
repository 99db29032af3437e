//! beian-registry (placeholder; see ARCHITECTURE.md).
