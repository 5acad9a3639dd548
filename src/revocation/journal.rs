//! The durable journal's record format: one line per record,
//! `<16 hex digits: first 8 bytes of SHA-256 of the JSON> <JSON>\n`.
//!
//! Appends write whole lines, so a process that dies mid-append leaves an unterminated
//! last line: that, and only that, is a torn tail, ignored (and cut off by the store). A
//! complete line that fails its checksum or does not parse was damaged after it was
//! written, wherever it sits, even last: that is corruption, reported with its offset
//! rather than skipped, since skipping it could undo a logout.
//!
//! The journal is read line by line through a [`BufRead`], never whole: only one record,
//! at most [`MAX_RECORD_BYTES`] long, is held at a time.

use std::io::{self, BufRead, Read as _};

use serde::{Deserialize, Serialize};

use super::store::{EndReason, SessionRecord};
use crate::clock::UnixTime;
use crate::crypto::digest;

/// The longest record line (without its newline) written or read. A journal may be any
/// size; a single line longer than this is damage, not a record.
pub(crate) const MAX_RECORD_BYTES: usize = 16 << 20;

/// One journaled change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(crate) enum Record {
    /// A session was created or rotated: this is its whole state now.
    Session { session: SessionRecord },
    /// A session ended; its tokens are revoked until `until`.
    End {
        sid: String,
        until: UnixTime,
        reason: EndReason,
    },
    /// One token is revoked until `until`.
    Token { jti: String, until: UnixTime },
    /// Log out everywhere: these sessions ended, and tokens issued before the cut-off die.
    Subject {
        sub: String,
        before: UnixTime,
        cutoff_until: Option<UnixTime>,
        sids: Vec<String>,
        until: UnixTime,
    },
}

/// The first 8 bytes of SHA-256 of `json`, as 16 lowercase hex digits.
fn checksum(json: &[u8]) -> [u8; 16] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut sum = [0u8; 16];
    for (pair, byte) in sum.chunks_exact_mut(2).zip(digest::sha256(json)) {
        let digit = |nibble: u8| HEX.get(usize::from(nibble)).copied().unwrap_or(b'0');
        pair.copy_from_slice(&[digit(byte >> 4), digit(byte & 0xf)]);
    }
    sum
}

/// Encode one record as a journal line.
pub(crate) fn encode(record: &Record) -> Vec<u8> {
    let json = serde_json::to_vec(record).unwrap_or_default();
    let mut line = Vec::with_capacity(json.len() + 18);
    line.extend_from_slice(&checksum(&json));
    line.push(b' ');
    line.extend_from_slice(&json);
    line.push(b'\n');
    line
}

/// The result of reading a journal.
#[cfg(any(test, feature = "fuzzing"))]
#[derive(Debug, Default)]
pub(crate) struct Replay {
    pub(crate) records: Vec<Record>,
    /// Bytes of valid records; anything after is a torn tail.
    pub(crate) valid_len: usize,
    /// Whether a torn tail was found (and ignored).
    pub(crate) torn_tail: bool,
}

/// How a complete line is damaged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Damage {
    /// It fails its checksum or is not a record.
    Unreadable,
    /// It is longer than the record bound.
    TooLong,
}

/// A complete line that is not a record: the journal is corrupt at `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Corruption {
    pub(crate) offset: u64,
    pub(crate) damage: Damage,
}

/// Why reading a journal stopped short.
#[derive(Debug)]
pub(crate) enum ReadError {
    Corrupt(Corruption),
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(err: io::Error) -> Self {
        Self::Io(err)
    }
}

fn decode_line(line: &[u8]) -> Option<Record> {
    let (sum, json) = line.split_at_checked(16)?;
    let json = json.strip_prefix(b" ")?;
    if sum != checksum(json) {
        return None;
    }
    serde_json::from_slice(json).ok()
}

/// One line read.
enum Line {
    /// Nothing left.
    End,
    /// A newline-terminated line of this many bytes (newline included) is in the buffer.
    Complete(usize),
    /// The journal ends without a newline.
    Unterminated,
    /// A line longer than the bound that does end in a newline (skipped).
    TooLong,
}

/// Reads journal records one line at a time.
pub(crate) struct Reader<R> {
    inner: R,
    max_record: usize,
    line: Vec<u8>,
    /// Offset of the next line.
    offset: u64,
    torn_tail: bool,
    done: bool,
}

impl<R: BufRead> Reader<R> {
    /// A reader refusing lines longer than `max_record` bytes (without the newline).
    pub(crate) fn new(inner: R, max_record: usize) -> Self {
        Self {
            inner,
            max_record,
            line: Vec::new(),
            offset: 0,
            torn_tail: false,
            done: false,
        }
    }

    /// Bytes of the valid records read so far.
    pub(crate) fn valid_len(&self) -> u64 {
        self.offset
    }

    /// Whether the journal ended in an unterminated line (known once `next` is `None`).
    pub(crate) fn torn_tail(&self) -> bool {
        self.torn_tail
    }

    fn read_line(&mut self) -> io::Result<Line> {
        self.line.clear();
        let limit = u64::try_from(self.max_record)
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let read = (&mut self.inner)
            .take(limit)
            .read_until(b'\n', &mut self.line)?;
        if read == 0 {
            return Ok(Line::End);
        }
        if self.line.last() == Some(&b'\n') {
            return Ok(Line::Complete(read));
        }
        if (read as u64) < limit {
            return Ok(Line::Unterminated);
        }
        // Over the bound: skip to the end of the line without holding it.
        self.line.clear();
        loop {
            let buffer = self.inner.fill_buf()?;
            if buffer.is_empty() {
                return Ok(Line::Unterminated);
            }
            match memchr::memchr(b'\n', buffer) {
                Some(at) => {
                    self.inner.consume(at + 1);
                    return Ok(Line::TooLong);
                }
                None => {
                    let all = buffer.len();
                    self.inner.consume(all);
                }
            }
        }
    }

    /// The next record; `Ok(None)` once the valid records are over (then
    /// [`torn_tail`](Self::torn_tail) says whether an unterminated line follows them).
    pub(crate) fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        if self.done {
            return Ok(None);
        }
        let corrupt = |offset, damage| ReadError::Corrupt(Corruption { offset, damage });
        match self.read_line() {
            Ok(Line::End) => {
                self.done = true;
                Ok(None)
            }
            Ok(Line::Unterminated) => {
                self.done = true;
                self.torn_tail = true;
                Ok(None)
            }
            Ok(Line::TooLong) => {
                self.done = true;
                Err(corrupt(self.offset, Damage::TooLong))
            }
            Ok(Line::Complete(read)) => {
                let line = self.line.get(..read - 1).unwrap_or_default();
                match decode_line(line) {
                    Some(record) => {
                        self.offset += read as u64;
                        Ok(Some(record))
                    }
                    None => {
                        self.done = true;
                        Err(corrupt(self.offset, Damage::Unreadable))
                    }
                }
            }
            Err(e) => {
                self.done = true;
                Err(ReadError::Io(e))
            }
        }
    }
}

/// Replay a journal's bytes (all of them in memory: for tests and the fuzz target; the
/// store streams its file through [`Reader`]).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn replay(bytes: &[u8]) -> Result<Replay, Corruption> {
    let mut reader = Reader::new(bytes, MAX_RECORD_BYTES);
    let mut replay = Replay::default();
    loop {
        match reader.next_record() {
            Ok(Some(record)) => replay.records.push(record),
            Ok(None) => break,
            Err(ReadError::Corrupt(corruption)) => return Err(corruption),
            // Reading a slice cannot fail; were it to, the rest is unread, not valid.
            Err(ReadError::Io(_)) => {
                return Err(Corruption {
                    offset: reader.valid_len(),
                    damage: Damage::Unreadable,
                })
            }
        }
    }
    replay.valid_len = usize::try_from(reader.valid_len()).unwrap_or(usize::MAX);
    replay.torn_tail = reader.torn_tail();
    Ok(replay)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(n: u64) -> Record {
        Record::Token {
            jti: format!("j{n}"),
            until: n,
        }
    }

    fn corrupt_at(offset: usize) -> Corruption {
        Corruption {
            offset: offset as u64,
            damage: Damage::Unreadable,
        }
    }

    #[test]
    fn records_round_trip() {
        let mut bytes = Vec::new();
        for n in 0..3 {
            bytes.extend(encode(&token(n)));
        }
        let replay = replay(&bytes).unwrap();
        assert_eq!(replay.records, vec![token(0), token(1), token(2)]);
        assert_eq!(replay.valid_len, bytes.len());
        assert!(!replay.torn_tail);
    }

    #[test]
    fn a_torn_last_record_is_ignored_at_every_cut() {
        let mut bytes = encode(&token(0));
        let good = bytes.len();
        bytes.extend(encode(&token(1)));
        // Every cut short of the newline: the last append never finished.
        for cut in good + 1..bytes.len() {
            let replay = replay(&bytes[..cut]).unwrap();
            assert_eq!(replay.records, vec![token(0)], "cut at {cut}");
            assert_eq!(replay.valid_len, good);
            assert!(replay.torn_tail);
        }
    }

    #[test]
    fn a_damaged_complete_last_record_is_corruption_not_a_torn_tail() {
        let mut bytes = encode(&token(0));
        let good = bytes.len();
        bytes.extend(encode(&token(1)));
        // One bit flipped in the JSON of the complete last record.
        bytes[good + 20] ^= 0x01;
        assert_eq!(replay(&bytes).unwrap_err(), corrupt_at(good));
        // Garbage that ends in a newline is a complete line too.
        let mut bytes = encode(&token(0));
        bytes.extend(b"\x00\xffgarbage\n");
        assert_eq!(replay(&bytes).unwrap_err(), corrupt_at(good));
    }

    #[test]
    fn a_bad_line_before_an_unterminated_record_is_corruption() {
        // `V1 garbage V2x`: the unterminated V2x is a torn write, but the complete
        // garbage line before it was damaged after it was written.
        let mut bytes = encode(&token(0));
        let good = bytes.len();
        bytes.extend(b"garbage\n");
        let last = encode(&token(1));
        bytes.extend(&last[..last.len() - 1]);
        assert_eq!(replay(&bytes).unwrap_err(), corrupt_at(good));
        bytes.push(b'\n');
        assert_eq!(replay(&bytes).unwrap_err(), corrupt_at(good));
    }

    #[test]
    fn unterminated_garbage_is_a_torn_tail() {
        let mut bytes = encode(&token(0));
        let good = bytes.len();
        bytes.extend(b"\x00\xffgarbage without a newline");
        let replay = replay(&bytes).unwrap();
        assert_eq!(replay.records, vec![token(0)]);
        assert_eq!(replay.valid_len, good);
        assert!(replay.torn_tail);
    }

    #[test]
    fn records_are_bounded_one_by_one_not_the_journal() {
        // A journal far larger than the record bound reads in full...
        let mut bytes = Vec::new();
        while bytes.len() < 64 * 1024 {
            bytes.extend(encode(&token(bytes.len() as u64)));
        }
        let mut reader = Reader::new(&bytes[..], 128);
        let mut count = 0;
        while reader.next_record().unwrap().is_some() {
            count += 1;
        }
        assert!(count > 1000);
        assert_eq!(reader.valid_len(), bytes.len() as u64);
        // ...while one line over the bound is corruption at its start, without holding it,
        let long = Record::Token {
            jti: "x".repeat(200),
            until: 1,
        };
        let mut too_long = encode(&token(0));
        let good = too_long.len();
        too_long.extend(encode(&long));
        let mut reader = Reader::new(&too_long[..], 128);
        assert!(reader.next_record().unwrap().is_some());
        match reader.next_record() {
            Err(ReadError::Corrupt(c)) => assert_eq!(
                c,
                Corruption {
                    offset: good as u64,
                    damage: Damage::TooLong
                }
            ),
            other => panic!("{other:?}"),
        }
        // ...and an unterminated one is a torn tail whatever its length.
        too_long.pop();
        let mut reader = Reader::new(&too_long[..], 128);
        assert!(reader.next_record().unwrap().is_some());
        assert!(reader.next_record().unwrap().is_none());
        assert!(reader.torn_tail());
        assert_eq!(reader.valid_len(), good as u64);
    }
}
