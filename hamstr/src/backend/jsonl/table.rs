//! [`Table`]: a model's file (or its share of a writer), its key index, and how a page of rows
//! is written to it.

use std::{
    fs::{File, OpenOptions},
    io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write},
    path::Path,
};

use super::{
    Target,
    index::KeyIndex,
    io_error,
    line::{JsonRow, line_hash, record_key, row_key},
};
use crate::{
    backend::{BackendError, Committed},
    model::{Row, Schema},
};

/// What a JSON Lines store keeps for one model.
#[derive(Debug)]
pub(super) struct Table {
    pub(super) schema: Schema,
    /// For each primary key written so far (hashed), the hash of its last line: tells new records
    /// from updates, and unchanged records from both.
    pub(super) keys: KeyIndex,
    /// The model's file in a folder; `None` on a writer, and after a failed write whose file
    /// could not be opened again.
    pub(super) file: Option<BufWriter<File>>,
    /// Lines written since the file was last synced to disk.
    pub(super) is_unsynced: bool,
    /// A page's lines, kept from commit to commit so that its capacity is allocated once.
    pub(super) lines: Vec<u8>,
}

impl Table {
    /// Writes the lines of the rows that are new or changed, and flushes them to the OS with
    /// every page (a killed process loses nothing); they are synced to disk only before the state
    /// file is saved, which is all the order "records, then state" needs.
    pub(super) fn write(
        &mut self,
        target: &mut Target,
        envelope: Option<&str>,
        rows: &[Row],
    ) -> Result<Committed, BackendError> {
        if let (Target::Dir(dir), None) = (&*target, &self.file) {
            // A failed write whose file could not be opened again: opened now, or refused.
            self.reopen(dir).map_err(|error| {
                let name = self.schema.name();
                io_error(format!("opening the file of `{name}` again"), error)
            })?;
        }
        let name = self.schema.name();
        let mut committed = Committed::default();
        let mut lines = std::mem::take(&mut self.lines);
        lines.clear();
        let mut scratch = Vec::new();
        for row in rows {
            let start = lines.len();
            if let Some(envelope) = envelope {
                lines.extend_from_slice(envelope.as_bytes());
            }
            let record = lines.len();
            // Straight from the cells to the line: no `serde_json::Value` per record.
            serde_json::to_writer(
                &mut lines,
                &JsonRow {
                    schema: &self.schema,
                    row,
                },
            )
            .map_err(|error| io_error("encoding a record", error))?;
            let line = line_hash(&lines[record..]);
            let previous = self
                .keys
                .insert(row_key(&self.schema, row, &mut scratch), line)
                .map_err(|error| io_error(format!("indexing the keys of `{name}`"), error))?;
            match previous {
                None => committed.inserted += 1,
                Some(previous) if previous == line => {
                    lines.truncate(start);
                    committed.unchanged += 1;
                    continue;
                }
                Some(_) => committed.updated += 1,
            }
            if envelope.is_some() {
                lines.push(b'}');
            }
            lines.push(b'\n');
        }
        let written = match (target, self.file.as_mut()) {
            (Target::Dir(_), Some(file)) => {
                self.is_unsynced |= !lines.is_empty();
                file.write_all(&lines).and_then(|()| file.flush())
            }
            (Target::Writer(writer), _) => writer.write_all(&lines).and_then(|()| writer.flush()),
            (Target::Dir(_), None) => Err(io::Error::other("the file is not open")),
        };
        // A rare large batch does not keep its buffer.
        if lines.capacity() <= 4 << 20 {
            self.lines = lines;
        }
        written.map_err(|error| io_error(format!("writing records of `{name}`"), error))?;
        Ok(committed)
    }

    /// After a failed write: the file is opened again (a line cut short is cut off) and its keys
    /// read again, so the index holds what the file holds. Should that fail too, the index
    /// forgets every key: records collected again are then written again, never lost.
    pub(super) fn recover(&mut self, target: &Target, name: &str) {
        let Target::Dir(dir) = target else {
            self.keys.clear();
            return;
        };
        // What the failed write left in the buffer is dropped, not written later.
        if let Some(file) = self.file.take() {
            drop(file.into_parts());
        }
        if let Err(error) = self.reopen(dir) {
            // The next commit tries again, and fails while the file cannot be opened.
            tracing::warn!(model = name, %error, "could not open the file again after a failed write");
            self.keys.clear();
        }
    }

    /// Opens the model's file for appending (cutting a line left half-written) and reads its
    /// keys again.
    fn reopen(&mut self, dir: &Path) -> io::Result<()> {
        let path = dir.join(format!("{}.jsonl", self.schema.name()));
        let file = open_for_append(&path)?;
        self.keys = existing_keys(&path, dir, &self.schema)?;
        self.file = Some(BufWriter::new(file));
        Ok(())
    }
}

/// Opens a model's file for appending. A last line cut short by a crash is cut off: its commit
/// did not finish, so its state was not saved and the next run reads the record again.
pub(super) fn open_for_append(path: &Path) -> io::Result<File> {
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    let length = file.metadata()?.len();
    let whole = complete_length(&mut file, length)?;
    if whole < length {
        file.set_len(whole)?;
        file.sync_data()?;
    }
    Ok(file)
}

/// The length of `file` up to and including its last line break.
fn complete_length(file: &mut File, length: u64) -> io::Result<u64> {
    let mut end = length;
    let mut chunk = [0_u8; 4096];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let size = usize::try_from(end - start).expect("at most a chunk");
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk[..size])?;
        if let Some(position) = chunk[..size].iter().rposition(|&byte| byte == b'\n') {
            return Ok(start + position as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// The primary keys already in a model's file, each with its last line's hash, so a restart
/// still tells new from updated and unchanged.
pub(super) fn existing_keys(path: &Path, dir: &Path, schema: &Schema) -> io::Result<KeyIndex> {
    let mut keys = KeyIndex::whole(dir);
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(keys),
        Err(error) => return Err(error),
    };
    for line in BufReader::new(file).lines() {
        let line = line?;
        // A line cut short by a crash is skipped: its record is written again by the next run.
        let Ok(record) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&line)
        else {
            continue;
        };
        keys.insert(record_key(schema, &record), line_hash(line.as_bytes()))?;
    }
    Ok(keys)
}
