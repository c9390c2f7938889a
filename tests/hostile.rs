//! Hostile input through the CLI (issue 12): each gives a clear error naming file and
//! record, or runs in bounded memory; never an abort, an OOM kill or a write outside its
//! directory. Memory is bounded for real: the command runs under an address-space limit
//! (`ulimit -v`) that the earlier, unbounded code exceeded. Killed writes: a file-size
//! limit (`ulimit -f`) stops the process half-way through a write with SIGXFSZ, as a
//! full disk or a kill would, and the earlier state must be whole.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output};

use crate::support::{binary, files, samtools, workbench, workbench_ok};

/// Address space the commands below may use: the bounded code needs a few hundred MB
/// (threads reserve stack and allocator arenas); each input here made the old code ask
/// for several GB.
const ADDRESS_SPACE_KB: u64 = 3 * 1024 * 1024;

/// Runs `workbench args` under `ulimit` settings of POSIX `sh` (`-v` in KB, `-f` in
/// 512-byte blocks).
fn limited(limits: &str, args: &[&str]) -> Output {
    let mut script = format!("ulimit {limits}; exec \"$0\"");
    for i in 1..=args.len() {
        script.push_str(&format!(" \"${i}\""));
    }
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(binary("workbench"))
        .args(args)
        .output()
        .expect("sh runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A clean failure: exit status 1 (not a signal, not an abort's 134).
fn assert_clean_failure(output: &Output, expect: &[&str]) {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(1), "{:?}: {text}", output.status);
    for e in expect {
        assert!(text.contains(e), "missing {e:?} in {text}");
    }
}

#[test]
fn a_fastq_whose_one_line_is_100_mb_is_refused_in_bounded_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("one-line.fq");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    file.write_all(b"@r1\n").expect("write");
    let chunk = vec![b'A'; 1 << 20];
    for _ in 0..100 {
        file.write_all(&chunk).expect("write");
    }
    file.write_all(b"\n+\n").expect("write");
    drop(file);
    let limit = format!("-v {ADDRESS_SPACE_KB}");
    let output = limited(&limit, &["qc", "fastq", path.to_str().expect("utf-8")]);
    assert_clean_failure(
        &output,
        &["one-line.fq", "record 1 (line 2)", "longer than 1048576"],
    );
}

#[test]
fn a_gzip_bomb_is_refused_in_bounded_memory() {
    // 2 GB of zero bytes in a 2 MB gzip file: one endless line.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bomb.fq.gz");
    let file = std::fs::File::create(&path).expect("create");
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..2048 {
        gz.write_all(&zeros).expect("compress");
    }
    gz.finish().expect("finish");
    assert!(std::fs::metadata(&path).expect("size").len() < 4 << 20);
    let limit = format!("-v {ADDRESS_SPACE_KB}");
    let output = limited(&limit, &["qc", "fastq", path.to_str().expect("utf-8")]);
    assert_clean_failure(&output, &["bomb.fq.gz", "record 1 (line 1)", "longer than"]);
}

/// A coordinate-sorted, indexed BAM with one read pair on a sequence whose header declares
/// `length` bases, made by samtools from SAM text.
fn bam_declaring(dir: &Path, length: u64) -> std::path::PathBuf {
    let sam = dir.join("huge.sam");
    let read = "A".repeat(50);
    let quality = "I".repeat(50);
    std::fs::write(
        &sam,
        format!(
            "@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chrHuge\tLN:{length}\n\
             r1\t99\tchrHuge\t101\t60\t50M\t=\t131\t80\t{read}\t{quality}\n\
             r1\t147\tchrHuge\t131\t60\t50M\t=\t101\t-80\t{read}\t{quality}\n"
        ),
    )
    .expect("sam");
    let bam = dir.join("huge.bam");
    let (bam_path, sam_path) = (bam.to_str().expect("utf-8"), sam.to_str().expect("utf-8"));
    samtools(&["view", "-b", "-o", bam_path, sam_path]);
    // BAI indexes positions below 2^29 only; CSI covers the whole declared length.
    samtools(&["index", "-c", bam_path]);
    bam
}

#[test]
fn a_bam_declaring_a_two_gigabase_sequence_is_measured_without_allocating_it() {
    // The binary header's int32 length allows 2^31 − 1; the old depth code allocated 4
    // bytes per declared base (8 GB here) before reading a record.
    let dir = tempfile::tempdir().expect("tempdir");
    let length = 2_000_000_000u64;
    let bam = bam_declaring(dir.path(), length);
    let limit = format!("-v {ADDRESS_SPACE_KB}");
    let output = limited(
        &limit,
        &["qc", "bam", bam.to_str().expect("utf-8"), "--json"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let total = &report["depth"]["total"];
    assert_eq!(total["length"], length, "{report}");
    // Two mates of 50 bases sharing 20 (positions 131–150): the overlap counts once.
    assert_eq!(total["bases"], 100 - 20, "{report}");
    assert_eq!(total["min"], 0, "{report}");
    assert_eq!(total["max"], 1, "{report}");
}

/// The bytes of a BGZF file (gzip members: any gzip reader inflates them in sequence).
fn inflate(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(path).expect("open")),
        &mut out,
    )
    .expect("inflate");
    out
}

/// `data` as BGZF: blocks of at most 60 KiB, each a gzip member with the `BC` field that
/// gives its size, then the empty end-of-file block (SAM/BAM specification, section 4.1).
fn bgzf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut block = |chunk: &[u8]| {
        let mut deflate =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        deflate.write_all(chunk).expect("deflate");
        let compressed = deflate.finish().expect("deflate");
        let mut crc = flate2::Crc::new();
        crc.update(chunk);
        let size = u16::try_from(compressed.len() + 25).expect("block fits");
        out.extend_from_slice(&[31, 139, 8, 4, 0, 0, 0, 0, 0, 255, 6, 0, b'B', b'C', 2, 0]);
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&compressed);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&u32::try_from(chunk.len()).expect("small").to_le_bytes());
    };
    for chunk in data.chunks(60 * 1024) {
        block(chunk);
    }
    block(&[]);
    out
}

#[test]
fn a_header_declaring_a_trillion_bases_is_refused_in_a_bam_and_measured_in_a_cram() {
    // A BAM's binary reference list holds int32 lengths, but the SAM text of its header can
    // say anything: rewritten by hand to LN:1000000000000 (samtools caps what it writes),
    // the two disagree, and the reader refuses the file by name.
    let dir = tempfile::tempdir().expect("tempdir");
    let made = bam_declaring(dir.path(), 2_000_000_000);
    let bytes = inflate(&made);
    assert_eq!(&bytes[..4], b"BAM\x01");
    let l_text = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes")) as usize;
    let text = String::from_utf8(bytes[8..8 + l_text].to_vec()).expect("header text");
    let huge = text.replace("LN:2000000000", "LN:1000000000000");
    assert_ne!(huge, text);
    let mut rewritten = b"BAM\x01".to_vec();
    rewritten.extend_from_slice(&u32::try_from(huge.len()).expect("small").to_le_bytes());
    rewritten.extend_from_slice(huge.as_bytes());
    rewritten.extend_from_slice(&bytes[8 + l_text..]);
    let bam = dir.path().join("trillion.bam");
    std::fs::write(&bam, bgzf(&rewritten)).expect("write");
    samtools(&["index", "-c", bam.to_str().expect("utf-8")]);
    let limit = format!("-v {ADDRESS_SPACE_KB}");
    let output = limited(
        &limit,
        &["qc", "bam", bam.to_str().expect("utf-8"), "--json"],
    );
    assert_clean_failure(&output, &["trillion.bam", "mismatch"]);

    // A CRAM header is SAM text alone, and samtools keeps the declared length: measured,
    // within the address-space limit, with counters only as far as the reads reach.
    let sam = dir.path().join("huge.sam");
    let sam_text = std::fs::read_to_string(&sam).expect("sam");
    std::fs::write(&sam, sam_text.replace("LN:2000000000", "LN:1000000000000")).expect("sam");
    let cram = dir.path().join("trillion.cram");
    samtools(&[
        "view",
        "-C",
        "--output-fmt-option",
        "no_ref=1",
        "-o",
        cram.to_str().expect("utf-8"),
        sam.to_str().expect("utf-8"),
    ]);
    samtools(&["index", cram.to_str().expect("utf-8")]);
    // The reads are stored whole (no_ref), so a short reference serves to decode them.
    let reference = dir.path().join("huge.fa");
    std::fs::write(&reference, format!(">chrHuge\n{}\n", "A".repeat(300))).expect("fasta");
    samtools(&["faidx", reference.to_str().expect("utf-8")]);
    let output = limited(
        &limit,
        &[
            "qc",
            "bam",
            cram.to_str().expect("utf-8"),
            "--reference",
            reference.to_str().expect("utf-8"),
            "--json",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let total = &report["depth"]["total"];
    assert_eq!(total["length"], 1_000_000_000_000u64, "{report}");
    assert_eq!(total["bases"], 100 - 20, "{report}");
    assert_eq!(total["max"], 1, "{report}");
}

#[test]
fn a_bed_of_ten_million_regions_is_refused_at_the_first_one_too_many() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bam = bam_declaring(dir.path(), 10_000);
    let bed = dir.path().join("many.bed");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&bed).expect("create"));
    for i in 0..10_000_000u64 {
        writeln!(file, "chrHuge\t{}\t{}", i % 9_000, i % 9_000 + 10).expect("write");
    }
    drop(file);
    let limit = format!("-v {ADDRESS_SPACE_KB}");
    let output = limited(
        &limit,
        &[
            "qc",
            "bam",
            bam.to_str().expect("utf-8"),
            "--bed",
            bed.to_str().expect("utf-8"),
        ],
    );
    assert_clean_failure(
        &output,
        &["many.bed", "line 1000001", "more than 1000000 regions"],
    );
}

#[test]
fn a_cohort_name_with_a_path_is_refused_and_nothing_is_written_outside() {
    let dir = tempfile::tempdir().expect("tempdir");
    let enclave = dir.path().join("a/b/enclave");
    let enclave_str = enclave.to_str().expect("utf-8");
    workbench_ok(&[
        "synth",
        "--cases",
        "30",
        "--out",
        enclave_str,
        "--raw-cases",
        "0",
    ]);
    let before = files(dir.path());
    for name in ["../../x", "/tmp/x", ".hidden", "a/b", ""] {
        let output = workbench(&["cohort", "--lake", enclave_str, "--save", name]);
        assert_clean_failure(&output, &["cohort name"]);
    }
    assert_eq!(files(dir.path()), before, "a refused save wrote a file");
    assert!(!dir.path().join("a/x.cohort.json").exists());
    // A plain name is saved beside the lake.
    workbench_ok(&["cohort", "--lake", enclave_str, "--save", "all-cases"]);
    assert!(enclave.join("all-cases.cohort.json").is_file());
}

#[test]
fn a_multiqc_sample_name_with_a_path_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fastq = dir.path().join("s.fq");
    std::fs::write(&fastq, "@r\nACGT\n+\nIIII\n").expect("write");
    let output = workbench(&[
        "qc",
        "fastq",
        fastq.to_str().expect("utf-8"),
        "--multiqc",
        dir.path().to_str().expect("utf-8"),
        "--sample",
        "../escape",
    ]);
    assert_clean_failure(&output, &["--sample", "../escape"]);
    assert!(
        !dir.path()
            .parent()
            .expect("parent")
            .join("escape_workbench_fastq_mqc.json")
            .exists()
    );
}

#[test]
fn a_synth_killed_half_way_leaves_no_lake_and_no_raw_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("enclave");
    // 128 KB per file: the raw FASTQ and the lake's tables outgrow it, and the kernel
    // stops the process with SIGXFSZ half-way through the first such write.
    let output = limited(
        "-f 256",
        &[
            "synth",
            "--cases",
            "3000",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    );
    assert!(!output.status.success(), "synth fitted in the limit");
    assert!(!out.join("lake").exists(), "a half-written lake appeared");
    assert!(!out.join("raw").exists(), "half-written raw files appeared");
    // The same command without the limit then succeeds, over the leftovers.
    workbench_ok(&[
        "synth",
        "--cases",
        "300",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let names: Vec<String> = std::fs::read_dir(&out)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let mut names = names;
    names.sort();
    assert_eq!(names, ["lake", "raw"], "leftovers of the killed run remain");
}

#[test]
fn a_figure_write_killed_half_way_keeps_the_earlier_figure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let enclave = dir.path().join("enclave");
    let enclave_str = enclave.to_str().expect("utf-8");
    workbench_ok(&[
        "synth",
        "--cases",
        "400",
        "--out",
        enclave_str,
        "--raw-cases",
        "0",
    ]);
    let figure = dir.path().join("oncoprint.svg");
    let figure_str = figure.to_str().expect("utf-8");
    workbench_ok(&[
        "interactions",
        "--lake",
        enclave_str,
        "--top",
        "3",
        "--oncoprint",
        figure_str,
    ]);
    let earlier = std::fs::read(&figure).expect("figure");
    assert!(earlier.len() > 4096, "{} bytes", earlier.len());
    // The second figure (more genes, so larger) is cut off at 2 KB by SIGXFSZ.
    let output = limited(
        "-f 4",
        &[
            "interactions",
            "--lake",
            enclave_str,
            "--top",
            "8",
            "--oncoprint",
            figure_str,
        ],
    );
    assert!(!output.status.success(), "the write fitted in the limit");
    assert_eq!(std::fs::read(&figure).expect("figure"), earlier);
}
