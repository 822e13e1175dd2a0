//! Receiving an export file: a push-based sink both transports feed with the
//! body's chunks, which optionally decompresses gzip on the fly (every member),
//! checks the gzip stream even when it keeps the bytes compressed, and checks
//! the length against `Content-Length`.
//!
//! It writes into any [`std::io::Write`]; memory stays flat whatever the size.

use std::io::{self, Write};

use flate2::write::MultiGzDecoder;

/// What to do with the bytes of an export file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadOptions {
    /// Write the decompressed CSV instead of the gzip file.
    pub decompress: bool,
    /// When keeping the file compressed, still decode it on the fly to check
    /// the gzip stream (CRC and length of every member). On by default.
    pub verify_gzip: bool,
    /// Replace an existing file at the target path (path downloads only).
    pub overwrite: bool,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        DownloadOptions {
            decompress: false,
            verify_gzip: true,
            overwrite: false,
        }
    }
}

impl DownloadOptions {
    /// With decompression on or off.
    pub fn decompress(mut self, on: bool) -> Self {
        self.decompress = on;
        self
    }
    /// With the gzip check on or off (it always happens when decompressing).
    pub fn verify_gzip(mut self, on: bool) -> Self {
        self.verify_gzip = on;
        self
    }
    /// Allowing or refusing to replace an existing file.
    pub fn overwrite(mut self, on: bool) -> Self {
        self.overwrite = on;
        self
    }
}

/// The file did not arrive intact.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntegrityError {
    /// Fewer or more bytes than `Content-Length` announced.
    #[error("the download ended after {received} of {expected} bytes")]
    LengthMismatch {
        /// Bytes received.
        received: u64,
        /// Bytes announced.
        expected: u64,
    },
    /// The bytes are not a valid, complete gzip stream.
    #[error("the file is not a valid, complete gzip stream: {0}")]
    BadGzip(io::Error),
}

/// Why a download could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The bytes are not the whole, valid file.
    #[error(transparent)]
    Integrity(#[from] IntegrityError),
    /// The destination refused the bytes (disk full, closed pipe...).
    #[error("could not write the file: {0}")]
    Write(io::Error),
}

/// Counts what passes through to the destination.
struct Counted<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Marks errors that came from the destination rather than from decoding.
struct Tagged<W>(W);

#[derive(Debug)]
struct DestinationError(io::Error);
impl std::fmt::Display for DestinationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
impl std::error::Error for DestinationError {}

impl<W: Write> Write for Tagged<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(|e| io::Error::other(DestinationError(e)))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(|e| io::Error::other(DestinationError(e)))
    }
}

fn classify(e: io::Error) -> SinkError {
    if e.get_ref().is_some_and(|inner| inner.is::<DestinationError>()) {
        match e.into_inner().map(|inner| inner.downcast::<DestinationError>()) {
            Some(Ok(dest)) => SinkError::Write(dest.0),
            _ => SinkError::Write(io::Error::other("write failed")),
        }
    } else {
        SinkError::Integrity(IntegrityError::BadGzip(e))
    }
}

enum Mode<W: Write> {
    Raw(Counted<W>),
    Checked(Counted<W>, Box<MultiGzDecoder<io::Sink>>),
    Decompress(Box<MultiGzDecoder<Tagged<Counted<W>>>>),
}

/// Where a download to a path ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadReport {
    /// The file written.
    pub path: std::path::PathBuf,
    /// Bytes received and written.
    pub stats: DownloadStats,
}

impl DownloadReport {
    /// A report for `path`.
    pub fn new(path: std::path::PathBuf, stats: DownloadStats) -> Self {
        DownloadReport { path, stats }
    }
}

/// What a finished download amounted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DownloadStats {
    /// Bytes received from the server.
    pub received: u64,
    /// Bytes written to the destination (more than received when decompressing).
    pub written: u64,
}

/// Receives a file's bytes chunk by chunk and writes them to `W`.
pub struct DownloadSink<W: Write> {
    mode: Mode<W>,
    received: u64,
    expected: Option<u64>,
}

impl<W: Write> std::fmt::Debug for DownloadSink<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadSink")
            .field("received", &self.received)
            .field("expected", &self.expected)
            .finish_non_exhaustive()
    }
}

impl<W: Write> DownloadSink<W> {
    /// A sink writing to `destination`; `expected_len` is the `Content-Length`, if any.
    pub fn new(destination: W, options: &DownloadOptions, expected_len: Option<u64>) -> Self {
        let counted = Counted {
            inner: destination,
            written: 0,
        };
        let mode = if options.decompress {
            Mode::Decompress(Box::new(MultiGzDecoder::new(Tagged(counted))))
        } else if options.verify_gzip {
            Mode::Checked(counted, Box::new(MultiGzDecoder::new(io::sink())))
        } else {
            Mode::Raw(counted)
        };
        DownloadSink {
            mode,
            received: 0,
            expected: expected_len,
        }
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The announced length, if any.
    pub fn expected(&self) -> Option<u64> {
        self.expected
    }

    /// Takes the next chunk of the body.
    pub fn write_chunk(&mut self, chunk: &[u8]) -> Result<(), SinkError> {
        self.received += chunk.len() as u64;
        if let Some(expected) = self.expected {
            if self.received > expected {
                return Err(IntegrityError::LengthMismatch {
                    received: self.received,
                    expected,
                }
                .into());
            }
        }
        match &mut self.mode {
            Mode::Raw(out) => out.write_all(chunk).map_err(SinkError::Write),
            Mode::Checked(out, check) => {
                check
                    .write_all(chunk)
                    .map_err(|e| SinkError::Integrity(IntegrityError::BadGzip(e)))?;
                out.write_all(chunk).map_err(SinkError::Write)
            }
            Mode::Decompress(decoder) => decoder.write_all(chunk).map_err(classify),
        }
    }

    /// Ends the body: checks the length and the gzip trailer, flushes, and
    /// returns the destination with the totals.
    pub fn finish(self) -> Result<(W, DownloadStats), SinkError> {
        if let Some(expected) = self.expected {
            if self.received != expected {
                return Err(IntegrityError::LengthMismatch {
                    received: self.received,
                    expected,
                }
                .into());
            }
        }
        let empty = || {
            SinkError::Integrity(IntegrityError::BadGzip(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "empty file",
            )))
        };
        let mut out = match self.mode {
            Mode::Raw(out) => out,
            Mode::Checked(out, mut check) => {
                if self.received == 0 {
                    return Err(empty());
                }
                check
                    .try_finish()
                    .map_err(|e| SinkError::Integrity(IntegrityError::BadGzip(e)))?;
                out
            }
            Mode::Decompress(mut decoder) => {
                if self.received == 0 {
                    return Err(empty());
                }
                decoder.try_finish().map_err(classify)?;
                let Tagged(out) = decoder.finish().map_err(classify)?;
                out
            }
        };
        out.flush().map_err(SinkError::Write)?;
        Ok((
            out.inner,
            DownloadStats {
                received: self.received,
                written: out.written,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn run(
        file: &[u8],
        options: DownloadOptions,
        expected: Option<u64>,
        chunk: usize,
    ) -> Result<(Vec<u8>, DownloadStats), SinkError> {
        let mut sink = DownloadSink::new(Vec::new(), &options, expected);
        for c in file.chunks(chunk.max(1)) {
            sink.write_chunk(c)?;
        }
        sink.finish()
    }

    #[test]
    fn decompresses_every_member() {
        let mut file = gz(b"header\nrow 1\n");
        file.extend(gz(b"row 2\n"));
        file.extend(gz(b"row 3\n"));
        for chunk in [1, 7, 4096] {
            let (out, stats) = run(
                &file,
                DownloadOptions::default().decompress(true),
                Some(file.len() as u64),
                chunk,
            )
            .unwrap();
            assert_eq!(out, b"header\nrow 1\nrow 2\nrow 3\n");
            assert_eq!(
                stats,
                DownloadStats {
                    received: file.len() as u64,
                    written: out.len() as u64
                }
            );
        }
        let (out, _) = run(&file, DownloadOptions::default(), None, 5).unwrap();
        assert_eq!(out, file);
    }

    #[test]
    fn truncated_and_corrupt_files_fail() {
        let file = gz(&b"0123456789,abc\n".repeat(2000));
        for options in [DownloadOptions::default(), DownloadOptions::default().decompress(true)] {
            let cut = &file[..file.len() - 5];
            assert!(matches!(
                run(cut, options, None, 512),
                Err(SinkError::Integrity(IntegrityError::BadGzip(_)))
            ));
            assert!(matches!(
                run(cut, options, Some(file.len() as u64), 512),
                Err(SinkError::Integrity(IntegrityError::LengthMismatch { .. }))
            ));
            let mut corrupt = file.clone();
            corrupt[file.len() - 6] ^= 0xFF; // inside the CRC
            assert!(matches!(
                run(&corrupt, options, None, 512),
                Err(SinkError::Integrity(_))
            ));
            let mut corrupt = file.clone();
            corrupt[40] ^= 0xFF; // inside the deflate stream
            assert!(matches!(
                run(&corrupt, options, None, 512),
                Err(SinkError::Integrity(_))
            ));
            assert!(matches!(
                run(b"<html>not gzip</html>", options, None, 512),
                Err(SinkError::Integrity(_))
            ));
            assert!(matches!(run(b"", options, None, 512), Err(SinkError::Integrity(_))));
        }
        // Without the check, only the length can catch a truncation.
        let raw = DownloadOptions::default().verify_gzip(false);
        assert!(run(&file[..100], raw, None, 512).is_ok());
        assert!(run(&file, raw, Some(file.len() as u64 + 1), 512).is_err());
        assert!(run(&file, raw, Some(10), 512).is_err());
    }

    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn destination_errors_are_write_errors() {
        let file = gz(&b"x".repeat(100_000));
        for options in [DownloadOptions::default(), DownloadOptions::default().decompress(true)] {
            let mut sink = DownloadSink::new(Full, &options, None);
            let err = file
                .chunks(1000)
                .try_for_each(|c| sink.write_chunk(c))
                .err()
                .or_else(|| sink.finish().err());
            match err {
                Some(SinkError::Write(e)) => assert_eq!(e.kind(), io::ErrorKind::StorageFull),
                other => panic!("{other:?}"),
            }
        }
    }
}
