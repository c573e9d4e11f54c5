//! HTTP handlers with their request and response types and their OpenAPI descriptions, one
//! module per resource.

pub mod health;
pub mod problems;
pub mod territories;
