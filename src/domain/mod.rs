//! Rules and value types of the domain, free of HTTP and SQL.

pub mod identifiers;
pub mod reference;
pub mod territory;
