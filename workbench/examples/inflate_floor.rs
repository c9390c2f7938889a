//! The decompression floor of `workbench qc fastq`: inflate a gzip file with the decoder the
//! FASTQ reader uses (flate2's `MultiGzDecoder` on zlib-rs, 1 MiB buffered reads, 4 MiB
//! blocks) and discard the bytes. `docs/benchmarks/fastq.sh` times it beside the QC run, so
//! the ratio to the floor is measured against our own inflater, not GNU gzip's.

// A command-line tool: printing is its output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufReader, Read};

fn main() -> std::io::Result<()> {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: inflate_floor FILE.gz");
        std::process::exit(2);
    };
    let file = BufReader::with_capacity(1 << 20, std::fs::File::open(&path)?);
    let mut input = flate2::read::MultiGzDecoder::new(file);
    let mut block = vec![0u8; 4 << 20];
    let mut total: u64 = 0;
    loop {
        match input.read(&mut block) {
            Ok(0) => break,
            Ok(n) => total += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    println!("{total}");
    Ok(())
}
