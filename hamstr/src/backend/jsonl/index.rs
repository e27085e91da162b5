//! [`KeyIndex`]: what a JSON Lines target remembers of the records it wrote, to tell new records
//! from updated and unchanged ones: for each primary key (hashed), the hash of its last line.

use std::{
    collections::{HashMap, VecDeque},
    fs::File,
    io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write},
    path::Path,
};

type Map = HashMap<u64, u64, foldhash::fast::FixedState>;

/// The keys written, each with its last line's hash.
///
/// A file keeps every key (its records are read back to fill it on start, so a record is never
/// written twice), but not in memory: the latest keys are in a map, and when it is full they go
/// to a sorted run in a temporary file beside the records, each run with a Bloom filter (10 bits a
/// key) that answers "never written" for a new key without reading the file. Memory then stays
/// nearly flat however many records the file holds (about 1.3 bytes a key, against 30 in a map;
/// a lookup of a key on disk reads one 4 KiB block of a run).
///
/// Standard output keeps a window of the latest keys, so memory stays flat however long the run:
/// a record repeated within the window (a listing whose pages shifted) is still written once.
#[derive(Debug)]
pub(super) enum KeyIndex {
    Window {
        lines: Map,
        /// The keys from the oldest written.
        order: VecDeque<u64>,
        size: usize,
    },
    Whole(Spilling),
}

impl KeyIndex {
    /// Every key; the keys that do not fit in memory go to temporary files in `dir`.
    pub(super) fn whole(dir: &Path) -> Self {
        Self::Whole(Spilling::new(dir, MEMORY_KEYS))
    }

    /// The latest `size` keys.
    pub(super) fn window(size: usize) -> Self {
        Self::Window {
            lines: Map::default(),
            order: VecDeque::new(),
            size: size.max(1),
        }
    }

    /// Keeps `line` as the last line of `key`; returns the line it had.
    ///
    /// # Errors
    /// When a run of keys cannot be written to or read from its temporary file.
    pub(super) fn insert(&mut self, key: u64, line: u64) -> io::Result<Option<u64>> {
        match self {
            Self::Window { lines, order, size } => {
                let previous = lines.insert(key, line);
                if previous.is_none() {
                    if order.len() == *size
                        && let Some(oldest) = order.pop_front()
                    {
                        lines.remove(&oldest);
                    }
                    order.push_back(key);
                }
                Ok(previous)
            }
            Self::Whole(spilling) => spilling.insert(key, line),
        }
    }

    /// Forgets every key: after a failed write, what the index holds may not be in the file.
    pub(super) fn clear(&mut self) {
        match self {
            Self::Window { lines, order, .. } => {
                lines.clear();
                order.clear();
            }
            Self::Whole(spilling) => spilling.clear(),
        }
    }
}

/// How many keys a file's index holds in memory before it writes them to a run: a map of
/// 8,192 slots, about 140 KiB (and as much again while they are sorted into a run).
const MEMORY_KEYS: usize = 7_168;
/// The buffer of a run being written or merged.
const BUFFER: usize = 16 * 1024;
/// Entries in a block of a run, the unit read from its file: 4 KiB.
const BLOCK: usize = 256;
const ENTRY: usize = 16;

/// Keys in a map, then in sorted runs on disk.
#[derive(Debug)]
pub(super) struct Spilling {
    dir: std::path::PathBuf,
    recent: Map,
    capacity: usize,
    /// Oldest first; a key in a newer run shadows the same key in an older one.
    runs: Vec<Run>,
}

impl Spilling {
    fn new(dir: &Path, capacity: usize) -> Self {
        Self {
            dir: dir.to_owned(),
            recent: Map::default(),
            capacity: capacity.max(1),
            runs: Vec::new(),
        }
    }

    fn insert(&mut self, key: u64, line: u64) -> io::Result<Option<u64>> {
        if let Some(previous) = self.recent.insert(key, line) {
            return Ok(Some(previous));
        }
        let mut previous = None;
        for run in self.runs.iter_mut().rev() {
            if let Some(found) = run.get(key)? {
                previous = Some(found);
                break;
            }
        }
        if self.recent.len() >= self.capacity {
            self.spill()?;
        }
        Ok(previous)
    }

    fn clear(&mut self) {
        self.recent.clear();
        self.runs.clear();
    }

    /// Writes the map to a new run, then merges the newest runs while the older is at most twice
    /// the newer: a few runs are left, and each key is rewritten about log₁.₅(keys / capacity)
    /// times. A failure leaves the index short of keys (records are then written again, never
    /// lost), and the commit that hit it fails and reads the file's keys again.
    fn spill(&mut self) -> io::Result<()> {
        let mut entries: Vec<(u64, u64)> = self.recent.drain().collect();
        entries.sort_unstable_by_key(|&(key, _)| key);
        let run = Run::write(&self.dir, entries.len(), entries.into_iter().map(Ok))?;
        self.runs.push(run);
        while let [.., older, newer] = self.runs.as_slice()
            && older.len <= 2 * newer.len
        {
            let newer = self.runs.pop().expect("two runs");
            let older = self.runs.pop().expect("two runs");
            let merged = Run::write(&self.dir, older.len + newer.len, Merge::new(older, newer)?)?;
            self.runs.push(merged);
        }
        Ok(())
    }
}

/// Sorted `(key, line)` entries in a temporary file (removed when dropped), with the first key
/// of each block and a Bloom filter of its keys in memory.
#[derive(Debug)]
struct Run {
    file: File,
    len: usize,
    /// The first key of each block.
    fences: Vec<u64>,
    bloom: Bloom,
    block: Vec<u8>,
}

impl Run {
    /// Writes sorted entries (at most `expected`, for the filter's size) to a new run.
    fn write(
        dir: &Path,
        expected: usize,
        entries: impl Iterator<Item = io::Result<(u64, u64)>>,
    ) -> io::Result<Self> {
        let file = tempfile::tempfile_in(dir)?;
        let mut bloom = Bloom::new(expected);
        let mut fences = Vec::with_capacity(expected.div_ceil(BLOCK));
        let mut writer = BufWriter::with_capacity(BUFFER, file);
        let mut len = 0;
        for entry in entries {
            let (key, line) = entry?;
            if len % BLOCK == 0 {
                fences.push(key);
            }
            bloom.add(key);
            writer.write_all(&key.to_le_bytes())?;
            writer.write_all(&line.to_le_bytes())?;
            len += 1;
        }
        let file = writer
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        Ok(Self {
            file,
            len,
            fences,
            bloom,
            block: Vec::new(),
        })
    }

    /// The line of `key`, when this run has it: the filter rules most new keys out, the fences
    /// name the one block that may hold it.
    fn get(&mut self, key: u64) -> io::Result<Option<u64>> {
        if !self.bloom.may_contain(key) {
            return Ok(None);
        }
        let Some(block) = self
            .fences
            .partition_point(|&fence| fence <= key)
            .checked_sub(1)
        else {
            return Ok(None);
        };
        let entries = BLOCK.min(self.len - block * BLOCK);
        self.block.resize(entries * ENTRY, 0);
        read_at(&self.file, &mut self.block, (block * BLOCK * ENTRY) as u64)?;
        let at = |index: usize| entry(&self.block[index * ENTRY..][..ENTRY]);
        let (mut low, mut high) = (0, entries);
        while low < high {
            let middle = low + (high - low) / 2;
            match at(middle).0.cmp(&key) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Ok(Some(at(middle).1)),
            }
        }
        Ok(None)
    }

    fn entries(self) -> io::Result<Entries> {
        let mut file = self.file;
        file.seek(SeekFrom::Start(0))?;
        Ok(Entries {
            reader: BufReader::with_capacity(BUFFER, file),
            left: self.len,
        })
    }
}

fn entry(bytes: &[u8]) -> (u64, u64) {
    let (key, line) = bytes.split_at(8);
    let word = |bytes: &[u8]| u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
    (word(key), word(line))
}

#[cfg(unix)]
fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buffer, offset)
}

#[cfg(not(unix))]
fn read_at(mut file: &File, buffer: &mut [u8], offset: u64) -> io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buffer)
}

/// A run's entries read in order.
struct Entries {
    reader: BufReader<File>,
    left: usize,
}

impl Iterator for Entries {
    type Item = io::Result<(u64, u64)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let mut bytes = [0; ENTRY];
        Some(self.reader.read_exact(&mut bytes).map(|()| entry(&bytes)))
    }
}

/// Two runs merged in key order; of a key in both, the newer run's line.
struct Merge {
    older: std::iter::Peekable<Entries>,
    newer: std::iter::Peekable<Entries>,
}

impl Merge {
    fn new(older: Run, newer: Run) -> io::Result<Self> {
        Ok(Self {
            older: older.entries()?.peekable(),
            newer: newer.entries()?.peekable(),
        })
    }
}

impl Iterator for Merge {
    type Item = io::Result<(u64, u64)>;

    fn next(&mut self) -> Option<Self::Item> {
        let key = |entry: Option<&io::Result<(u64, u64)>>| match entry {
            Some(Ok((key, _))) => Some(*key),
            _ => None,
        };
        match (key(self.older.peek()), key(self.newer.peek())) {
            (Some(older), Some(newer)) if older < newer => self.older.next(),
            (Some(older), Some(newer)) if older == newer => {
                self.older.next();
                self.newer.next()
            }
            (Some(_), Some(_)) => self.newer.next(),
            // One side is done or failed: an error is passed on before the other side's entries.
            _ => match self.older.peek() {
                Some(Err(_)) => self.older.next(),
                _ => self.newer.next().or_else(|| self.older.next()),
            },
        }
    }
}

/// A Bloom filter over keys that are hashes already: 10 bits and 7 probes a key, about 1% false
/// positives. Blocked: a key's probes all fall in one 64-byte block, so a lookup costs one cache
/// miss, not seven.
#[derive(Debug)]
struct Bloom {
    blocks: Vec<[u64; 8]>,
}

const PROBES: u32 = 7;

impl Bloom {
    fn new(keys: usize) -> Self {
        Self {
            blocks: vec![[0; 8]; (keys * 10).div_ceil(512).max(1)],
        }
    }

    /// The key's block, and for each probe a word of it and a bit.
    fn probes(&self, key: u64) -> (usize, impl Iterator<Item = (usize, u64)> + use<>) {
        // Mixed, so that keys alike in some bits still spread; the block from the high half, the
        // probes from 9-bit slices (3 for the word, 6 for the bit) of another mix.
        let mixed = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let block = ((mixed >> 32) * self.blocks.len() as u64) >> 32;
        let bits = (mixed ^ (mixed >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let probes = (0..PROBES).map(move |probe| {
            let slice = (bits >> (probe * 9)) & 0x1FF;
            ((slice >> 6) as usize, 1 << (slice & 63))
        });
        (block as usize, probes)
    }

    fn add(&mut self, key: u64) {
        let (block, probes) = self.probes(key);
        let block = &mut self.blocks[block];
        for (word, mask) in probes {
            block[word] |= mask;
        }
    }

    fn may_contain(&self, key: u64) -> bool {
        let (block, mut probes) = self.probes(key);
        let block = &self.blocks[block];
        probes.all(|(word, mask)| block[word] & mask != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_keeps_the_latest_keys() {
        let mut index = KeyIndex::window(3);
        for key in 0..10 {
            assert_eq!(index.insert(key, key).unwrap(), None);
        }
        let KeyIndex::Window { lines, .. } = &index else {
            panic!("a window")
        };
        assert_eq!(lines.len(), 3);
        assert_eq!(index.insert(9, 1).unwrap(), Some(9), "the latest are known");
        assert_eq!(
            index.insert(0, 0).unwrap(),
            None,
            "the oldest are forgotten"
        );
    }

    /// Keys that went to runs on disk, merged several times, still answer with their latest
    /// line; new keys are new; memory holds only the map and the filters.
    #[test]
    fn spilled_keys_keep_their_latest_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = Spilling::new(dir.path(), 100);
        // Keys spread over u64 as hashes are, in an order unlike their sort order.
        let key = |n: u64| n.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ (n << 7);
        for n in 0..5_000 {
            assert_eq!(index.insert(key(n), n).unwrap(), None, "key {n} is new");
        }
        assert!(index.recent.len() < 100);
        assert!(
            (2..=8).contains(&index.runs.len()),
            "{} runs",
            index.runs.len()
        );
        // Update every third key, then read them all back.
        for n in (0..5_000).step_by(3) {
            assert_eq!(index.insert(key(n), n + 10_000).unwrap(), Some(n));
        }
        for n in 0..5_000 {
            let expected = if n % 3 == 0 { n + 10_000 } else { n };
            assert_eq!(
                index.insert(key(n), expected).unwrap(),
                Some(expected),
                "key {n}"
            );
        }
        assert_eq!(index.insert(key(5_000), 0).unwrap(), None);
        let entries: usize = index.runs.iter().map(|run| run.len).sum();
        assert!(entries >= 5_000, "{entries}");
        index.clear();
        assert_eq!(index.insert(key(1), 1).unwrap(), None, "cleared");
    }

    #[test]
    fn the_filter_has_no_false_negatives_and_few_false_positives() {
        let mut bloom = Bloom::new(10_000);
        let key = |n: u64| n.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
        for n in 0..10_000 {
            bloom.add(key(n));
        }
        assert!((0..10_000).all(|n| bloom.may_contain(key(n))));
        let false_positives = (10_000..110_000)
            .filter(|&n| bloom.may_contain(key(n)))
            .count();
        assert!(false_positives < 2_500, "{false_positives} in 100,000");
    }
}
