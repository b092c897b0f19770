//! The `voxray audit` scanner on any bytes (as JSON, YAML, .env or plain text), plus
//! `redact()` and the placeholder classifier on the same text: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let name = ["x.json", "x.yaml", ".env", "x.txt"][sel as usize % 4];
    let _ = voxray::security::audit::scan_buffer(name, rest, false);
    let text = String::from_utf8_lossy(rest);
    let _ = voxray::secret_text::redact(&text);
    let _ = voxray::secret_text::is_placeholder(&text);
});
