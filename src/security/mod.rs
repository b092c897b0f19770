//! Security tooling as a library: key generation, the secret scanner behind `voxray audit`, and
//! the production checklist behind `voxray check`. Nothing here depends on `server/`.

pub mod audit;
pub mod redact;
