//! beian-assess (placeholder; see ARCHITECTURE.md).
