//! beian-classify (placeholder; see ARCHITECTURE.md).
