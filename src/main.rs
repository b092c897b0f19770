//! The `voxray` executable: parse the command line, run the subcommand, map the outcome to an
//! exit code (0 ok, 1 findings or policy failure, 2 usage, config or I/O error).

fn main() -> std::process::ExitCode {
    voxray::cli::main()
}
