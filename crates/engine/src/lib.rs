pub mod connections;
pub mod definition;
pub mod inputs;
pub mod template;
pub mod validate;
