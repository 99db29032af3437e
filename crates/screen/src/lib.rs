//! beian-screen (placeholder; see ARCHITECTURE.md).
