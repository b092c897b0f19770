//! The secret scanner behind `voxray audit` (`security-tools.md` §2).

pub mod placeholder;
