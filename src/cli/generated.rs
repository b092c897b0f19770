//! Output of the generators (`voxray man`, `voxray completions`): every file into a directory,
//! or the first one to stdout.

use std::io::Write;
use std::path::Path;

use super::CliError;

/// Write `files` (`(file name, bytes)`) into `dir` (created if missing), printing each path;
/// without a directory, print the first file to stdout.
///
/// # Errors
/// A directory, file or stdout that cannot be written: exit 2, naming `what` and the path.
pub fn emit(what: &str, dir: Option<&Path>, files: &[(String, Vec<u8>)]) -> Result<(), CliError> {
    let Some(dir) = dir else {
        let mut stdout = std::io::stdout().lock();
        return stdout
            .write_all(files.first().map_or(&[][..], |(_, bytes)| bytes))
            .and_then(|()| stdout.flush())
            .map_err(|e| CliError::usage(format!("{what}: cannot write stdout: {e}")));
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::usage(format!("{what}: cannot create {}: {e}", dir.display())))?;
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| {
            CliError::usage(format!("{what}: cannot write {}: {e}", path.display()))
        })?;
        println!("{}", path.display());
    }
    Ok(())
}
