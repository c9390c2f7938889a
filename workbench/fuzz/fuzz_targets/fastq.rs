//! Fuzz target: the FASTQ record parser on arbitrary bytes, fed in blocks of a size taken
//! from the input. It must never panic, and two different block sizes must give the same
//! result: records split across block boundaries are where a streaming parser breaks.
#![no_main]

use std::path::Path;

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    let Some((&[a, b], data)) = input.split_first_chunk::<2>() else {
        return;
    };
    let block = usize::from(u16::from_le_bytes([a, b])) + 1;
    let name = Path::new("fuzz.fq");
    let split = workbench::qc::fastq::measure_bytes(name, data, block);
    let whole = workbench::qc::fastq::measure_bytes(name, data, data.len().max(1));
    match (&split, &whole) {
        (Ok(x), Ok(y)) => assert_eq!(format!("{x:?}"), format!("{y:?}"), "block {block}"),
        (Err(_), Err(_)) => {}
        _ => panic!("block {block} gives {split:?}, one block gives {whole:?}"),
    }
});
