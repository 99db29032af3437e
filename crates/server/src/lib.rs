//! beian-server (placeholder; see ARCHITECTURE.md).
