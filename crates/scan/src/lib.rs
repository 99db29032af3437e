//! beian-scan (placeholder; see ARCHITECTURE.md).
